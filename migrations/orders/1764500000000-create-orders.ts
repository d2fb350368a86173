import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOrders1764500000000 implements MigrationInterface {
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE orders.orders (
        id                  uuid        PRIMARY KEY,
        customer_id         text        NOT NULL,
        status              text        NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED')),
        failure_reason      text        CHECK (failure_reason IN ('PAYMENT_DECLINED', 'OUT_OF_STOCK', 'SHIPPING_UNAVAILABLE', 'TIMED_OUT')),
        total_cents         bigint      NOT NULL CHECK (total_cents >= 0),
        payment_token       text        NOT NULL,
        -- Read back whole for the shipping step only: one value, not columns to query.
        shipping_address    jsonb       NOT NULL,
        payment_id          uuid,
        shipment_id         uuid,
        idempotency_key     text        UNIQUE,
        request_fingerprint text        NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'CANCELLED') = (failure_reason IS NOT NULL))
      )`);
    await runner.query(`
      CREATE TABLE orders.order_lines (
        order_id         uuid    NOT NULL REFERENCES orders.orders (id),
        line_no          integer NOT NULL,
        sku              text    NOT NULL,
        quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
        unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
        PRIMARY KEY (order_id, line_no)
      )`);
    // The checkout saga's state: the step it is at, when to run it next, and a lease for the runner.
    await runner.query(`
      CREATE TABLE orders.checkout_sagas (
        order_id       uuid        PRIMARY KEY REFERENCES orders.orders (id),
        step           text        NOT NULL CHECK (step IN ('CHARGE_PAYMENT', 'RESERVE_STOCK', 'SCHEDULE_SHIPMENT',
                                                           'VOID_SHIPMENT', 'RELEASE_STOCK', 'REFUND_PAYMENT', 'DONE')),
        failure_reason text,
        attempts       integer     NOT NULL DEFAULT 0,
        next_run_at    timestamptz NOT NULL DEFAULT now(),
        deadline_at    timestamptz NOT NULL,
        locked_until   timestamptz,
        version        integer     NOT NULL DEFAULT 0,
        last_error     text,
        updated_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX checkout_sagas_due ON orders.checkout_sagas (next_run_at) WHERE step <> 'DONE'`);
    await runner.query(`
      CREATE TABLE orders.checkout_log (
        id       bigserial   PRIMARY KEY,
        order_id uuid        NOT NULL REFERENCES orders.orders (id),
        step     text        NOT NULL,
        status   text        NOT NULL CHECK (status IN ('STARTED', 'SUCCEEDED', 'FAILED')),
        at       timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await runner.query('CREATE INDEX checkout_log_order ON orders.checkout_log (order_id, id)');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE orders.checkout_log, orders.checkout_sagas, orders.order_lines, orders.orders');
  }
}
