/**
 * Shipping's public face: the only file of this module other modules may
 * import. Everything under `internal/` is private to the module.
 */
export { ShippingContract, type Shipping, InjectShipping } from './contract/shipping.contract.js';
export { ScheduleShipmentCommand } from './contract/schedule-shipment.command.js';
export { CancelShipmentCommand } from './contract/cancel-shipment.command.js';
export { GetShipmentQuery } from './contract/get-shipment.query.js';
export { FindShipmentsQuery } from './contract/find-shipments.query.js';
export { ReceiveCarrierEventCommand } from './contract/receive-carrier-event.command.js';
export { CarrierEvent, CARRIER_OUTCOMES, type CarrierOutcome } from './contract/carrier-event.js';
export { ShipmentDelivered, ShipmentReturned } from './contract/shipment-events.js';
export { ShippingAddress, COUNTRY_CODE_PATTERN } from './contract/shipping-address.js';
export type { ShipmentStatus, ShipmentView, ShippingAddressView } from './contract/shipment.view.js';
