import { ApiProperty } from '@nestjs/swagger';

/** One field's failure in a 400 (store-api.md, Errors). */
export class ProblemFieldError {
  @ApiProperty({ example: 'items[0].quantity' })
  readonly field: string;

  @ApiProperty({ example: 'must be an integer number' })
  readonly message: string;
}

/** The body of every 4xx/5xx: RFC 9457 problem details, as ProblemDetailsFilter writes them. */
export class Problem {
  @ApiProperty({ example: 'about:blank' })
  readonly type: string;

  @ApiProperty({ example: 'Bad Request' })
  readonly title: string;

  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 400 })
  readonly status: number;

  @ApiProperty({ example: 'items[0].quantity must be an integer number' })
  readonly detail: string;

  @ApiProperty({ type: [ProblemFieldError], required: false, description: 'Present for a 400 that names fields.' })
  readonly errors?: ProblemFieldError[];
}
