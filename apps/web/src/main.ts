/*
 * vidchat viewer: the page served by the gateway at `/`. With `?room=` it
 * shows that room's cameras; without, a room picker.
 */
import { readPageParams } from './page-params.js';
import { showRoomPicker } from './room-picker.js';
import { showRoom } from './room-view.js';

const params = readPageParams(location.search);
if (params.room !== null) showRoom(params.room, params);
else showRoomPicker(params.token, params.invalidRoom);
