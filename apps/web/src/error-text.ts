import type { ViewerErrorCode } from '@vidchat/protocol';

/** Plain words for the gateway's error codes; the server's own message follows them. */
const TEXT: Record<ViewerErrorCode, string> = {
  'bad-message': 'The viewer sent something the server did not understand. Reloading the page should help.',
  'bad-room': 'This room name is not valid.',
  unauthorized: 'This room needs a valid access link. Ask the organiser for a link that includes a token.',
  'rate-limited': 'Too many requests from this browser. Retrying shortly.',
  'too-many-viewers': 'The room is full right now. Retrying shortly.',
  'too-many-rooms': 'The server is watching as many rooms as it can right now. Retrying shortly.',
  'binary-not-allowed': 'The viewer sent data the server does not accept.',
  'message-too-big': 'A message from this page was larger than the server accepts.',
  'bad-media': 'The server refused the camera or microphone data this page sent.',
  'not-joined': 'The viewer is not in a room yet.',
  'chat-empty': 'The message is empty.',
  'chat-too-long': 'The message is too long (2,000 characters at most).',
  'chat-rate-limited': 'You are sending messages too fast: this one was not sent.',
  'chat-unavailable': 'Chat is unavailable right now: the message was not sent.',
};

export function errorText(code: string, serverMessage: string): string {
  const words = (TEXT as Record<string, string | undefined>)[code] ?? 'Something went wrong.';
  return serverMessage ? `${words} (${serverMessage})` : words;
}
