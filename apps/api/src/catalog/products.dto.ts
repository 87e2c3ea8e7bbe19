import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { MAX_PRICE_CENTS, MAX_STOCK, PRODUCT_SORTS, type ProductSort } from '@emporium/catalog';

const CATEGORY = /^[a-z0-9][a-z0-9-]{0,63}$/;

export class CreateProductDto {
  @ApiProperty({ example: 'MUG-001', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', maxLength: 64 })
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
  sku!: string;

  @ApiProperty({ minLength: 1, maxLength: 200 }) @IsString() @Length(1, 200) name!: string;

  @ApiPropertyOptional({ maxLength: 5000, default: '' })
  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description: string = '';

  @ApiProperty({ example: 'kitchen', pattern: CATEGORY.source, maxLength: 64 }) @Matches(CATEGORY) category!: string;

  @ApiProperty({ minimum: 0, maximum: MAX_PRICE_CENTS, description: 'integer minor units' })
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE_CENTS)
  priceCents!: number;

  @ApiProperty({ example: 'EUR', pattern: '^[A-Z]{3}$', maxLength: 3 }) @Matches(/^[A-Z]{3}$/) currency!: string;

  @ApiProperty({ minimum: 0, maximum: MAX_STOCK }) @IsInt() @Min(0) @Max(MAX_STOCK) stock!: number;
}

export class UpdateProductDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 }) @IsOptional() @IsString() @Length(1, 200) name?: string;
  @ApiPropertyOptional({ maxLength: 5000 }) @IsOptional() @IsString() @MaxLength(5000) description?: string;
  @ApiPropertyOptional({ pattern: CATEGORY.source, maxLength: 64 }) @IsOptional() @Matches(CATEGORY) category?: string;
}

export class ChangePriceDto {
  @ApiProperty({ minimum: 0, maximum: MAX_PRICE_CENTS }) @IsInt() @Min(0) @Max(MAX_PRICE_CENTS) priceCents!: number;
}

export class RestockDto {
  @ApiProperty({ minimum: 1, maximum: 1_000_000 }) @IsInt() @Min(1) @Max(1_000_000) quantity!: number;
}

const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

export class ListProductsQueryDto {
  @ApiPropertyOptional({ pattern: CATEGORY.source, maxLength: 64 }) @IsOptional() @Matches(CATEGORY) category?: string;

  @ApiPropertyOptional({ minimum: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE_CENTS)
  minPrice?: number;

  @ApiPropertyOptional({ minimum: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE_CENTS)
  maxPrice?: number;

  @ApiPropertyOptional({ maxLength: 200, description: 'full-text search (web search syntax)' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  q?: string;

  @ApiPropertyOptional() @IsOptional() @Transform(toBoolean) @IsBoolean() inStock?: boolean;

  @ApiPropertyOptional({ enum: PRODUCT_SORTS, default: 'newest' })
  @IsOptional()
  @IsIn(PRODUCT_SORTS)
  sort: ProductSort = 'newest';

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;

  @ApiPropertyOptional({ maxLength: 500 }) @IsOptional() @IsString() @MaxLength(500) cursor?: string;
}

export class ProductDto {
  @ApiProperty({ format: 'uuid', maxLength: 36 }) id!: string;
  @ApiProperty({ maxLength: 64 }) sku!: string;
  @ApiProperty({ maxLength: 200 }) name!: string;
  @ApiProperty({ maxLength: 5000 }) description!: string;
  @ApiProperty({ maxLength: 64 }) category!: string;
  @ApiProperty() priceCents!: number;
  @ApiProperty({ maxLength: 3, pattern: '^[A-Z]{3}$' }) currency!: string;
  @ApiProperty() stock!: number;
  @ApiProperty() inStock!: boolean;
  @ApiProperty({ enum: ['active', 'discontinued'] }) status!: string;
  @ApiProperty() version!: number;
  @ApiProperty({ format: 'date-time', maxLength: 32 }) updatedAt!: string;
}

export class ProductPageDto {
  @ApiProperty({ type: [ProductDto], maxItems: 100 }) items!: ProductDto[];
  @ApiProperty({ type: String, nullable: true, maxLength: 500 }) nextCursor!: string | null;
}
