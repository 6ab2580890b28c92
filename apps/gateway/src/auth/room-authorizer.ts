import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { checkViewerToken, OPEN_GRANTS, TokenError, type ViewerGrants } from './viewer-token.js';

/**
 * The access check of every room entry point (join, snapshot, MJPEG, room
 * lists), bound to the configured viewer secret; open when there is none.
 */
@Injectable()
export class RoomAuthorizer {
  private readonly secret: string | undefined;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.secret = config.viewerSecret === '' ? undefined : config.viewerSecret;
  }

  get required(): boolean {
    return this.secret !== undefined;
  }

  /** Throws `TokenError` when `token` does not open `room`; returns what it grants (everything when open). */
  async check(token: string | undefined, room: string): Promise<ViewerGrants> {
    return this.secret === undefined ? OPEN_GRANTS : checkViewerToken(this.secret, token, room);
  }

  /** Whether `token` opens `room`, for filtering lists. */
  async allows(token: string | undefined, room: string): Promise<boolean> {
    try {
      await this.check(token, room);
      return true;
    } catch (err) {
      if (err instanceof TokenError) return false;
      throw err;
    }
  }
}
