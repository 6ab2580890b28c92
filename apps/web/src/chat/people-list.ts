import type { HandMessage, SourceInfo, ViewersMessage } from '@vidchat/protocol';
import { el } from '../dom.js';

export interface PeopleSnapshot {
  participants: { id: string; name: string; mic: boolean; camera: boolean; hand: boolean }[];
  hands: { who: string; name: string }[];
  /** People watching without a camera, on every gateway of the room (null before the gateway said). */
  watching: number | null;
  /** The text shown for it, e.g. "3 watching". */
  watchingText: string;
}

/**
 * The people in the room: participants (with whether their microphone and
 * camera are on, from the roster), everyone with a raised hand, and how many
 * watch without a camera (the gateways' `viewers` count). A raised hand is
 * also shown on the person's tile when they are a participant (the hand's
 * `who` is then their source id), and on one's own preview tile when it is
 * one's own hand.
 */
export class PeopleList {
  private readonly sources = new Map<string, SourceInfo>();
  private readonly hands = new Map<string, string>();
  private readonly list: HTMLUListElement;
  private readonly watchingLine: HTMLParagraphElement;
  private watching: number | null = null;
  /** This page's own source id while it publishes (its tile is the local preview). */
  private self: string | null = null;

  constructor(
    root: HTMLElement,
    private readonly grid: HTMLElement,
  ) {
    root.append(el('h2', 'chat-title', 'People'));
    this.list = el('ul', 'people-list');
    this.watchingLine = el('p', 'people-watching');
    this.watchingLine.setAttribute('aria-live', 'polite');
    root.append(this.list, this.watchingLine);
    this.render();
  }

  setRoster(sources: SourceInfo[]): void {
    this.sources.clear();
    for (const s of sources) this.sources.set(s.id, s);
    this.render();
  }

  upsert(source: SourceInfo): void {
    this.sources.set(source.id, source);
    this.render();
  }

  remove(id: string): void {
    this.sources.delete(id);
    this.render();
  }

  /** The page's own source id (a roster's `self`), or null while it only watches. */
  setSelf(self: string | null): void {
    this.self = self;
    this.markTiles();
  }

  onViewers(msg: ViewersMessage): void {
    this.watching = msg.count;
    this.renderWatching();
  }

  /** The gateway re-sends raised hands on every join: the set starts over. */
  resetHands(): void {
    this.hands.clear();
    this.render();
  }

  onHand(msg: HandMessage): void {
    if (msg.raised) this.hands.set(msg.who, msg.name);
    else this.hands.delete(msg.who);
    this.render();
  }

  /** Marks the tiles again (after the grid rebuilt them), one's own preview tile too. */
  markTiles(): void {
    for (const tile of this.grid.querySelectorAll<HTMLElement>('.tile[data-source]')) {
      mark(tile, this.hands.has(tile.dataset['source'] ?? ''));
    }
    const own = this.self !== null && this.hands.has(this.self);
    for (const tile of this.grid.querySelectorAll<HTMLElement>('.tile[data-local]')) mark(tile, own);
  }

  snapshot(): PeopleSnapshot {
    return {
      participants: this.participants().map((s) => ({
        id: s.id,
        name: s.name,
        mic: s.audio !== null,
        camera: s.video !== null,
        hand: this.hands.has(s.id),
      })),
      hands: [...this.hands].map(([who, name]) => ({ who, name })),
      watching: this.watching,
      watchingText: this.watchingLine.textContent ?? '',
    };
  }

  private participants(): SourceInfo[] {
    return [...this.sources.values()].filter((s) => s.kind === 'participant');
  }

  private render(): void {
    const items: HTMLLIElement[] = [];
    const sourceIds = new Set<string>();
    for (const s of this.participants()) {
      sourceIds.add(s.id);
      const li = el('li', 'person');
      li.append(el('span', 'person-name', s.name));
      li.append(el('span', `person-state${s.audio ? ' on' : ''}`, s.audio ? 'mic on' : 'mic off'));
      li.append(el('span', `person-state${s.video ? ' on' : ''}`, s.video ? 'camera on' : 'camera off'));
      if (this.hands.has(s.id)) li.append(el('span', 'person-hand', '✋'));
      items.push(li);
    }
    // Viewers (not on camera) appear only while their hand is up.
    for (const [who, name] of this.hands) {
      if (sourceIds.has(who)) continue;
      const li = el('li', 'person');
      li.append(el('span', 'person-name', name), el('span', 'person-hand', '✋'));
      items.push(li);
    }
    if (items.length === 0) items.push(el('li', 'people-empty', 'Nobody on camera'));
    this.list.replaceChildren(...items);
    this.markTiles();
    this.renderWatching();
  }

  private renderWatching(): void {
    this.watchingLine.hidden = this.watching === null;
    this.watchingLine.textContent = this.watching === null ? '' : `${this.watching} watching`;
  }
}

function mark(tile: HTMLElement, raised: boolean): void {
  tile.classList.toggle('hand-raised', raised);
  if (raised) tile.dataset['hand'] = 'raised';
  else delete tile.dataset['hand'];
}
