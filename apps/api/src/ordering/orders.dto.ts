import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CATEGORY_NAME, normalizeCategory } from '@emporium/catalog';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { DEFAULT_SALES_DAYS, MAX_LINE_QUANTITY, MAX_ORDER_LINES, type OrderStatus } from '@emporium/ordering';

const STATUSES: OrderStatus[] = ['placed', 'paid', 'shipped', 'cancelled'];

export class OrderLineInputDto {
  @ApiProperty({ format: 'uuid', maxLength: 36 }) @IsUUID() productId!: string;
  @ApiProperty({ minimum: 1, maximum: MAX_LINE_QUANTITY })
  @IsInt()
  @Min(1)
  @Max(MAX_LINE_QUANTITY)
  quantity!: number;
}

export class PlaceOrderDto {
  @ApiProperty({ type: [OrderLineInputDto], minItems: 1, maxItems: MAX_ORDER_LINES })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ORDER_LINES)
  @ValidateNested({ each: true })
  @Type(() => OrderLineInputDto)
  lines!: OrderLineInputDto[];
}

export class ListOrdersQueryDto {
  @ApiPropertyOptional({ enum: STATUSES }) @IsOptional() @IsIn(STATUSES) status?: OrderStatus;
  @ApiPropertyOptional({ format: 'uuid', maxLength: 36, description: 'admin only; ignored for customers' })
  @IsOptional()
  @IsUUID()
  customerId?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;
  @ApiPropertyOptional({ maxLength: 500 }) @IsOptional() @IsString() @MaxLength(500) cursor?: string;
}

export class OrderLineDto {
  @ApiProperty({ format: 'uuid', maxLength: 36 }) productId!: string;
  @ApiProperty({ maxLength: 200 }) name!: string;
  @ApiProperty({ maxLength: 64 }) category!: string;
  @ApiProperty() quantity!: number;
  @ApiProperty() unitPriceCents!: number;
}

export class TimelineEntryDto {
  @ApiProperty({ enum: STATUSES }) status!: OrderStatus;
  @ApiProperty({ format: 'date-time', maxLength: 32 }) at!: string;
}

export class OrderDto {
  @ApiProperty({ format: 'uuid', maxLength: 36 }) id!: string;
  @ApiProperty({ format: 'uuid', maxLength: 36 }) customerId!: string;
  @ApiProperty({ enum: STATUSES }) status!: OrderStatus;
  @ApiProperty({ type: [OrderLineDto], maxItems: 50 }) lines!: OrderLineDto[];
  @ApiProperty() totalCents!: number;
  @ApiProperty({ maxLength: 3, pattern: '^[A-Z]{3}$' }) currency!: string;
  @ApiProperty({ format: 'date-time', maxLength: 32 }) placedAt!: string;
  @ApiProperty({ format: 'date-time', maxLength: 32 }) updatedAt!: string;
  @ApiProperty({ type: [TimelineEntryDto], maxItems: 4 }) timeline!: TimelineEntryDto[];
  @ApiProperty() version!: number;
}

export class OrderPageDto {
  @ApiProperty({ type: [OrderDto], maxItems: 100 }) items!: OrderDto[];
  @ApiProperty({ type: String, nullable: true, maxLength: 500 }) nextCursor!: string | null;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export class DailySalesQueryDto {
  @ApiPropertyOptional({
    format: 'date',
    maxLength: 10,
    example: '2026-11-01',
    description: `first UTC day, inclusive; default: ${DEFAULT_SALES_DAYS - 1} days before \`to\``,
  })
  @IsOptional()
  @Matches(DAY)
  @IsISO8601({ strict: true })
  from?: string;
  @ApiPropertyOptional({
    format: 'date',
    maxLength: 10,
    example: '2026-11-30',
    description: 'last UTC day, inclusive; default: today',
  })
  @IsOptional()
  @Matches(DAY)
  @IsISO8601({ strict: true })
  to?: string;
  @ApiPropertyOptional({
    maxLength: 64,
    pattern: CATEGORY_NAME.source,
    description: 'matched without regard to case',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? normalizeCategory(value) : value))
  @Matches(CATEGORY_NAME)
  category?: string;
}

export class DailySalesRowDto {
  @ApiProperty({ format: 'date', maxLength: 10 }) day!: string;
  @ApiProperty({ format: 'uuid', maxLength: 36 }) productId!: string;
  @ApiProperty({ maxLength: 64 }) category!: string;
  @ApiProperty({ maxLength: 3, pattern: '^[A-Z]{3}$' }) currency!: string;
  @ApiProperty({ description: 'units placed minus units cancelled' }) units!: number;
  @ApiProperty({ description: 'net revenue in minor units' }) revenueCents!: number;
}

export class DailySalesDto {
  @ApiProperty({ type: [DailySalesRowDto], maxItems: 10000 }) items!: DailySalesRowDto[];
}
