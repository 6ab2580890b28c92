import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Header, StreamableFile } from '@nestjs/common';
import { PUBLIC_DIR } from '../paths.js';

/** Shown when `dist/public/index.html` does not exist yet. */
export const FALLBACK_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vidchat gateway</title></head>
<body><h1>vidchat gateway</h1>
<p>The viewer is not built yet: run <code>npm run build</code> at the repository root.</p>
<p>The gateway itself works: see <a href="/api/rooms">/api/rooms</a>, <a href="/healthz">/healthz</a> and <a href="/metrics">/metrics</a>.</p>
</body></html>
`;

/** `GET /`: the viewer page (its assets are served statically from dist/public). */
@Controller()
export class ViewerPageController {
  @Get()
  @Header('Cache-Control', 'no-cache')
  @Header('Content-Type', 'text/html; charset=utf-8')
  index(): StreamableFile | string {
    const index = join(PUBLIC_DIR, 'index.html');
    return existsSync(index) ? new StreamableFile(createReadStream(index)) : FALLBACK_PAGE;
  }
}
