import type { ChatMessage } from '@vidchat/protocol';
import { el } from '../dom.js';
import { splitLinks } from './linkify.js';

/** Messages kept on the page; older ones leave the list (the server keeps the history). */
export const MAX_SHOWN_MESSAGES = 500;

export interface ChatSnapshot {
  messages: { id: string; name: string; text: string; ts: number; history: boolean }[];
  unread: number;
  open: boolean;
  lastError: string | null;
}

export interface ChatPanelHandlers {
  /** The person sent a text; false when it could not be sent (not connected). */
  send(text: string): boolean;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/**
 * The chat panel: a collapsible column beside the grid on a wide screen and
 * a drawer over it on a narrow one. Messages arrive in order (history first);
 * a message that arrives while the panel is closed counts as unread until it
 * is opened. Names and texts are set as text; URLs become links.
 */
export class ChatPanel {
  private readonly list: HTMLOListElement;
  private readonly input: HTMLTextAreaElement;
  private readonly hint: HTMLElement;
  private readonly badge: HTMLElement;
  private readonly ids = new Set<string>();
  private readonly shown: ChatSnapshot['messages'] = [];
  private unread = 0;
  private open: boolean;
  private lastError: string | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly toggle: HTMLButtonElement,
    private readonly roomView: HTMLElement,
    private readonly handlers: ChatPanelHandlers,
  ) {
    this.badge = el('span', 'chat-unread');
    this.badge.hidden = true;
    this.toggle.append(this.badge);
    const head = el('div', 'chat-head');
    const title = el('h2', 'chat-title', 'Chat');
    const close = el('button', 'button ghost chat-close', '×');
    close.type = 'button';
    close.setAttribute('aria-label', 'Close chat');
    close.addEventListener('click', () => this.setOpen(false));
    head.append(title, close);
    this.list = el('ol', 'chat-list');
    this.list.setAttribute('aria-live', 'polite');
    const form = el('form', 'chat-form');
    this.input = el('textarea', 'chat-input');
    this.input.rows = 2;
    this.input.maxLength = 2_000;
    this.input.placeholder = 'Message the room';
    this.input.setAttribute('aria-label', 'Chat message');
    const send = el('button', 'button primary chat-send', 'Send');
    send.type = 'submit';
    this.hint = el('p', 'chat-hint');
    this.hint.setAttribute('aria-live', 'polite');
    form.append(this.input, send);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey) {
        ev.preventDefault();
        this.submit();
      }
    });
    this.root.append(head, this.list, this.hint, form);
    // Open by default where there is room for it beside the video.
    this.open = window.matchMedia('(min-width: 900px)').matches;
    this.toggle.addEventListener('click', () => this.setOpen(!this.open));
    this.render();
  }

  add(msg: ChatMessage): void {
    // A reconnect re-joins and gets the history again: show each message once.
    if (this.ids.has(msg.id)) return;
    this.ids.add(msg.id);
    const item = el('li', 'chat-item');
    if (msg.history) item.classList.add('history');
    const meta = el('div', 'chat-meta');
    const time = el('time', 'chat-time', timeFormat.format(new Date(msg.ts)));
    time.dateTime = new Date(msg.ts).toISOString();
    meta.append(el('span', 'chat-name', msg.name), time);
    const body = el('div', 'chat-text');
    appendLinkified(body, msg.text);
    item.append(meta, body);
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(item);
    this.shown.push({ id: msg.id, name: msg.name, text: msg.text, ts: msg.ts, history: msg.history === true });
    if (this.shown.length > MAX_SHOWN_MESSAGES) {
      const gone = this.shown.shift();
      if (gone) this.ids.delete(gone.id);
      this.list.firstElementChild?.remove();
    }
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
    if (!this.open && !msg.history) {
      this.unread++;
      this.render();
    }
  }

  /** A chat refusal from the gateway, shown under the list. */
  showError(message: string): void {
    this.lastError = message;
    this.hint.textContent = message;
  }

  snapshot(): ChatSnapshot {
    return { messages: [...this.shown], unread: this.unread, open: this.open, lastError: this.lastError };
  }

  setOpen(open: boolean): void {
    this.open = open;
    if (open) this.unread = 0;
    this.render();
    if (open) this.input.focus({ preventScroll: true });
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (!text) return;
    if (this.handlers.send(text)) {
      this.input.value = '';
      this.hint.textContent = '';
      this.lastError = null;
    } else {
      this.showError('Not connected: the message was not sent.');
    }
  }

  private render(): void {
    this.roomView.classList.toggle('chat-open', this.open);
    this.toggle.setAttribute('aria-expanded', String(this.open));
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = this.unread > 99 ? '99+' : String(this.unread);
    this.toggle.setAttribute('aria-label', this.unread ? `Chat, ${this.unread} unread` : 'Chat');
  }
}

/**
 * Appends chat text as text nodes and links; a link opens in a new tab
 * without giving the new page a handle on this one (`noopener noreferrer`).
 */
function appendLinkified(parent: HTMLElement, text: string): void {
  for (const part of splitLinks(text)) {
    if (part.kind === 'text') {
      parent.append(document.createTextNode(part.text));
      continue;
    }
    const a = document.createElement('a');
    a.href = part.href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = part.text;
    parent.append(a);
  }
}
