import { defineModule, uses } from '../../platform/index.js';
import { ShippingContract } from './contract/shipping.contract.js';
import { ShipmentEntity } from './internal/infrastructure/shipment.entity.js';
import { ShippingCoreModule } from './internal/shipping-core.module.js';
import { ShippingHttpModule } from './internal/http/shipping-http.module.js';

/** Shipping's composition root: schedules and cancels one delivery per order, and hears from its carrier. */
export default defineModule({
  name: 'shipping',
  contract: ShippingContract,
  core: ShippingCoreModule,
  http: ShippingHttpModule,
  entities: [ShipmentEntity],
  httpCalls: [uses(ShippingContract, 'findShipments', 'getShipment', 'receiveCarrierEvent')],
});
