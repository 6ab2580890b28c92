import type { ConnectionStatus } from './connection.js';

/**
 * The connection pill in the header: connecting / live / reconnecting in Ns
 * / failed, with the reason in plain words next to it.
 */
export class StatusIndicator {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly pill: HTMLElement,
    private readonly banner: HTMLElement,
  ) {}

  show(status: ConnectionStatus): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.pill.dataset['state'] = status.state;
    switch (status.state) {
      case 'connecting':
        this.pill.textContent = status.attempt === 0 ? 'Connecting…' : 'Reconnecting…';
        break;
      case 'live':
        this.pill.textContent = 'Live';
        this.setBanner(null);
        break;
      case 'reconnecting': {
        const render = (): void => {
          const s = Math.max(0, Math.ceil((status.retryAt - Date.now()) / 1000));
          this.pill.textContent = `Reconnecting in ${s}s`;
        };
        render();
        this.timer = setInterval(render, 250);
        if (this.banner.hidden) this.setBanner(`Connection lost: ${status.reason}. Reconnecting automatically.`);
        break;
      }
      case 'failed':
        this.pill.textContent = 'Disconnected';
        break;
      case 'closed':
        this.pill.textContent = 'Closed';
        break;
    }
  }

  /** A message for the person, or null to hide it. */
  setBanner(text: string | null): void {
    this.banner.textContent = text ?? '';
    this.banner.hidden = text === null;
  }
}
