import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { CreateProductBody, PlaceOrderBody } from './baseline.dto.js';
import { BaselineCheckoutService } from './baseline-checkout.service.js';

/** The routes the compare workload sends, on one controller. */
@Controller()
export class BaselineController {
  constructor(private readonly checkout: BaselineCheckoutService) {}

  @Get('health')
  health() {
    return { status: 'ok' };
  }

  @Post('inventory/products')
  createProduct(@Body() body: CreateProductBody) {
    return this.checkout.createProduct(body);
  }

  @Get('inventory/products/:sku')
  getProduct(@Param('sku') sku: string) {
    return this.checkout.getProduct(sku);
  }

  /** 201 (the order is terminal already), or 200 for a replayed Idempotency-Key; the body of the store's 202. */
  @Post('orders')
  @HttpCode(201)
  async placeOrder(@Body() body: PlaceOrderBody, @Headers('idempotency-key') key: string | undefined, @Res({ passthrough: true }) res: Response) {
    const { order, created } = await this.checkout.placeOrder(body, key);
    res.status(created ? 201 : 200).location(`/orders/${order.orderId}`);
    return order;
  }

  @Get('orders/:id')
  getOrder(@Param('id') id: string) {
    return this.checkout.getOrder(id);
  }
}
