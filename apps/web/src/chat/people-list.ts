import type { HandMessage, SourceInfo } from '@vidchat/protocol';
import { el } from '../dom.js';

export interface PeopleSnapshot {
  participants: { id: string; name: string; mic: boolean; camera: boolean; hand: boolean }[];
  hands: { who: string; name: string }[];
}

/**
 * The people in the room: participants (with whether their microphone and
 * camera are on, from the roster) and everyone with a raised hand. A raised
 * hand is also shown on the person's tile when they are a participant (the
 * hand's `who` is then their source id).
 */
export class PeopleList {
  private readonly sources = new Map<string, SourceInfo>();
  private readonly hands = new Map<string, string>();
  private readonly list: HTMLUListElement;

  constructor(
    root: HTMLElement,
    private readonly grid: HTMLElement,
  ) {
    root.append(el('h2', 'chat-title', 'People'));
    this.list = el('ul', 'people-list');
    root.append(this.list);
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

  /** Marks the tiles again (after the grid rebuilt them). */
  markTiles(): void {
    for (const tile of this.grid.querySelectorAll<HTMLElement>('.tile[data-source]')) {
      const raised = this.hands.has(tile.dataset['source'] ?? '');
      tile.classList.toggle('hand-raised', raised);
      if (raised) tile.dataset['hand'] = 'raised';
      else delete tile.dataset['hand'];
    }
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
  }
}
