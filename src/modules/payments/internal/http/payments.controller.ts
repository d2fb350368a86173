import { Controller, Get, Param, Query } from '@nestjs/common';
import { FindPaymentsQuery } from '../../contract/find-payments.query.js';
import type { PaymentView } from '../../contract/payment.view.js';
import { InjectPayments, type Payments } from '../../contract/payments.contract.js';

/**
 * Payments' public HTTP routes: read-only, since only the checkout saga
 * charges and refunds. Served by any gateway process, so it only speaks to the contract.
 */
@Controller('payments')
export class PaymentsController {
  constructor(@InjectPayments() private readonly payments: Payments) {}

  @Get()
  find(@Query() query: FindPaymentsQuery): Promise<PaymentView[]> {
    return this.payments.findPayments({ orderId: query.orderId });
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<PaymentView> {
    return this.payments.getPayment({ paymentId: id });
  }
}
