import { Module, type DynamicModule } from '@nestjs/common';
import { GatewayContext } from './gateway-context.js';
import { HealthController } from './http/health.controller.js';
import { MediaController } from './http/media.controller.js';
import { MetricsController } from './http/metrics.controller.js';
import { RoomsController } from './http/rooms.controller.js';
import { ViewerPageController } from './http/viewer-page.controller.js';

/** The Nest module: the HTTP controllers, and the gateway's parts as one provider. */
@Module({})
export class AppModule {
  static forRoot(ctx: GatewayContext): DynamicModule {
    return {
      module: AppModule,
      controllers: [ViewerPageController, HealthController, MetricsController, RoomsController, MediaController],
      providers: [{ provide: GatewayContext, useValue: ctx }],
    };
  }
}
