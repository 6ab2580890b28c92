import type { ViewerErrorCode } from '@vidchat/protocol';

/** Plain words for the gateway's error codes; the server's own message follows them. */
const TEXT: Record<ViewerErrorCode, string> = {
  'bad-message': 'The viewer sent something the server did not understand. Reloading the page should help.',
  'bad-room': 'This room name is not valid.',
  'bad-source': 'A camera in this room has an invalid name.',
  unauthorized: 'This room needs a valid access link. Ask the organiser for a link that includes a token.',
  'rate-limited': 'Too many requests from this browser. Retrying shortly.',
  'too-many-viewers': 'The room is full right now. Retrying shortly.',
  'message-too-big': 'The viewer sent a message that was too large.',
  'binary-not-allowed': 'The viewer sent data the server does not accept.',
  'not-joined': 'The viewer is not in a room yet.',
  unavailable: 'The video service is temporarily unavailable. Retrying shortly.',
  'chat-empty': 'The message is empty.',
  'chat-too-long': 'The message is too long (2,000 characters at most).',
  'chat-rate-limited': 'You are sending messages too fast: this one was not sent.',
  'chat-unavailable': 'Chat is unavailable right now: the message was not sent.',
};

export function errorText(code: string, serverMessage: string): string {
  const words = (TEXT as Record<string, string | undefined>)[code] ?? 'Something went wrong.';
  return serverMessage ? `${words} (${serverMessage})` : words;
}
