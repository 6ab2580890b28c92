import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { RoomAuthorizer } from './auth/room-authorizer.js';
import { ChatService } from './chat/chat.service.js';
import { GATEWAY_CONFIG, type GatewayConfig } from './config.js';
import { ApiErrorFilter } from './http/api-error.js';
import { HealthController } from './http/health.controller.js';
import { MediaController } from './http/media.controller.js';
import { MetricsController } from './http/metrics.controller.js';
import { MjpegClients } from './http/mjpeg-clients.js';
import { RoomsController } from './http/rooms.controller.js';
import { ViewerPageController } from './http/viewer-page.controller.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { NatsBus } from './nats/nats-bus.js';
import { ViewerCounts } from './people/viewer-counts.service.js';
import { RecordingRelay } from './recordings/recording-relay.js';
import { RecordingsController } from './recordings/recordings.controller.js';
import { RecordingsService } from './recordings/recordings.service.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { ViewerGateway } from './viewers/viewer.gateway.js';
import { ViewerSessions } from './viewers/viewer-sessions.js';

/*
 * The gateway's object graph. Only the validated configuration comes from
 * outside; Nest builds everything else and runs the shutdown in order:
 *   onModuleDestroy           viewers get 1001, MJPEG streams end
 *   beforeApplicationShutdown the rooms unsubscribe
 *   (Nest closes the ws server and the HTTP server)
 *   onApplicationShutdown     NATS drains, metrics stop sampling
 */
@Module({})
export class AppModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [
        ViewerPageController,
        HealthController,
        MetricsController,
        RoomsController,
        MediaController,
        RecordingsController,
      ],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: APP_FILTER, useClass: ApiErrorFilter },
        GatewayMetrics,
        NatsBus,
        RoomRegistry,
        ChatService,
        RoomAuthorizer,
        MjpegClients,
        ViewerSessions,
        ViewerGateway,
        RecordingsService,
        RecordingRelay,
        ViewerCounts,
      ],
    };
  }
}
