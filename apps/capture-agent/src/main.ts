import { createLogger, onShutdown, runCli, setLogLevel, shutdown } from '@vidchat/service-kit';
import { CaptureAgent } from './agent.js';
import { agentOptions } from './config.js';
import { listDevices } from './devices.js';

/*
 * vidchat-agent: captures a camera and a microphone with ffmpeg and
 * publishes JPEG frames, Opus packets and presence to NATS.
 */
await runCli(
  {
    name: 'vidchat-agent',
    summary: 'capture a camera and microphone with ffmpeg and publish them to NATS',
    usage: 'vidchat-agent --nats <url> --room <room> --source <id> [options]',
    spec: agentOptions,
  },
  async (config) => {
    setLogLevel(config.logLevel);
    if (config.listDevices) {
      await listDevices(config.ffmpeg, (line) => process.stdout.write(line + '\n'));
      return;
    }
    const log = createLogger('main');
    const aborter = new AbortController();
    const agent = new CaptureAgent(config, (err) => {
      log.error('cannot capture: stopping', { code: err.code, error: err.message });
      void shutdown(err.code, 1);
    });
    onShutdown(async () => {
      aborter.abort();
      await agent.stop();
    });
    await agent.start(aborter.signal);
  },
);
