import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { webhookEventTypes } from '@emporium/webhooks';

export class CreateWebhookDto {
  @ApiProperty({
    maxLength: 2000,
    format: 'uri',
    example: 'https://shop.example.com/hooks/emporium',
    description: 'http or https; it may not resolve to loopback, private, link-local or metadata addresses',
  })
  @IsString()
  @MaxLength(2000)
  url!: string;

  @ApiProperty({
    type: [String],
    minItems: 1,
    maxItems: 50,
    items: { type: 'string', enum: [...webhookEventTypes], maxLength: 100 },
    example: ['ordering.order.placed', 'ordering.order.paid'],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(100, { each: true })
  eventTypes!: string[];
}

export class WebhookDto {
  @ApiProperty({ format: 'uuid', maxLength: 36 }) id!: string;
  @ApiProperty({ maxLength: 2000 }) url!: string;
  @ApiProperty({ type: [String], maxItems: 50, items: { type: 'string', maxLength: 100 } }) eventTypes!: string[];
  @ApiProperty({
    enum: ['enabled', 'disabled'],
    description: 'disabled after failing without a success for WEBHOOK_DISABLE_AFTER (1 day by default)',
  })
  status!: 'enabled' | 'disabled';
  @ApiProperty({ format: 'date-time', maxLength: 30 }) createdAt!: string;
  @ApiProperty({ format: 'date-time', maxLength: 30, nullable: true, type: String }) failingSince!: string | null;
  @ApiProperty({ format: 'date-time', maxLength: 30, nullable: true, type: String }) disabledAt!: string | null;
  @ApiProperty({ maxLength: 1000, nullable: true, type: String }) disabledReason!: string | null;
}

export class WebhookListDto {
  @ApiProperty({ type: [WebhookDto], maxItems: 1000 }) items!: WebhookDto[];
}

export class CreatedWebhookDto {
  @ApiProperty({ format: 'uuid', maxLength: 36 }) id!: string;
  @ApiProperty({ maxLength: 2000 }) url!: string;
  @ApiProperty({ type: [String], maxItems: 50, items: { type: 'string', maxLength: 100 } }) eventTypes!: string[];
  @ApiProperty({
    maxLength: 100,
    pattern: '^whsec_[A-Za-z0-9+/=]+$',
    description: 'signing secret (Standard Webhooks); shown this once',
  })
  secret!: string;
}

export class WebhookDeliveryDto {
  @ApiProperty({ format: 'uuid', maxLength: 36, description: 'the event id, also the webhook-id header' })
  eventId!: string;
  @ApiProperty({ maxLength: 100 }) type!: string;
  @ApiProperty({ pattern: '^[0-9]{1,18}$', maxLength: 18 }) position!: string;
  @ApiProperty({ enum: ['pending', 'delivered', 'dead'] }) status!: 'pending' | 'delivered' | 'dead';
  @ApiProperty({ minimum: 0, maximum: 1000 }) attempts!: number;
  @ApiProperty({ nullable: true, type: Number, minimum: 100, maximum: 599 }) lastStatus!: number | null;
  @ApiProperty({ nullable: true, type: String, maxLength: 500 }) lastError!: string | null;
  @ApiProperty({ format: 'date-time', maxLength: 30, nullable: true, type: String }) lastAttemptAt!: string | null;
  @ApiProperty({ format: 'date-time', maxLength: 30, nullable: true, type: String, description: 'pending only' })
  nextAttemptAt!: string | null;
  @ApiProperty({ format: 'date-time', maxLength: 30, nullable: true, type: String }) deliveredAt!: string | null;
}

export class WebhookDeliveryListDto {
  @ApiProperty({ type: [WebhookDeliveryDto], maxItems: 500 }) items!: WebhookDeliveryDto[];
}

export class ListDeliveriesQueryDto {
  @ApiProperty({ required: false, minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit: number = 100;
}
