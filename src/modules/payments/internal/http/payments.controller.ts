import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { answerPage, ApiPage } from '../../../../platform/index.js';
import { FindPaymentsQuery } from '../../contract/find-payments.query.js';
import { PaymentView } from '../../contract/payment.view.js';
import { InjectPayments, type Payments } from '../../contract/payments.contract.js';

/**
 * Payments' public HTTP routes: read-only, since only the checkout saga
 * charges and refunds. Served by any gateway process, so it only speaks to the contract.
 */
@Controller('payments')
export class PaymentsController {
  constructor(@InjectPayments() private readonly payments: Payments) {}

  @Get()
  @ApiPage(PaymentView)
  async find(@Query() query: FindPaymentsQuery, @Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<PaymentView[]> {
    return answerPage(request, response, await this.payments.findPayments(query));
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<PaymentView> {
    return this.payments.getPayment({ paymentId: id });
  }
}
