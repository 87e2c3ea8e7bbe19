import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { ORDER_STREAM_EVENTS, type OrderStatus } from '@emporium/ordering';

export class OrderStreamQueryDto {
  @ApiPropertyOptional({
    maxLength: 100,
    pattern: '^[A-Za-z0-9_-]+$',
    description:
      'a ticket from POST /orders/stream/tickets, for clients that cannot send the Authorization header ' +
      '(EventSource); single use, short-lived. Never put an access token in the URL.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  ticket?: string;
}

export class StreamTicketDto {
  @ApiProperty({ maxLength: 64, description: 'use once, as ?ticket=, within expiresIn seconds' }) ticket!: string;
  @ApiProperty({ example: 30, description: 'seconds until the ticket expires' }) expiresIn!: number;
}

/** The `data:` of every order event on the stream (its `event:` is the event type, its `id:` the position). */
export class OrderStreamEventDto {
  @ApiProperty({ format: 'uuid', maxLength: 36 }) orderId!: string;
  @ApiProperty({ enum: Object.values(ORDER_STREAM_EVENTS) }) status!: OrderStatus;
  @ApiProperty({ description: 'the order version after this change' }) version!: number;
  @ApiProperty({ maxLength: 20, pattern: '^[0-9]+$', description: 'event-log position; the SSE id' })
  position!: string;
  @ApiProperty({ format: 'date-time', maxLength: 30 }) occurredAt!: string;
}
