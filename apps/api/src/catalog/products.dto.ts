import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
} from 'class-validator';
import {
  CATEGORY_NAME,
  MAX_CATEGORIES,
  MAX_PRICE_CENTS,
  MAX_STOCK,
  normalizeCategory,
  PRODUCT_SORTS,
  type ProductSort,
} from '@emporium/catalog';

/** A category name as written, trimmed and with inner whitespace collapsed before it is checked. */
const CategoryName = (): PropertyDecorator => {
  const normalize = Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? normalizeCategory(value) : value,
  );
  const match = Matches(CATEGORY_NAME, {
    message: `category must be 1 to 64 letters, digits, spaces or & ' . , / + ( ) - _, starting with a letter or digit`,
  });
  return (target, key) => {
    normalize(target, key);
    match(target, key);
  };
};

const CATEGORY_DOC = {
  example: 'Home & Garden',
  pattern: CATEGORY_NAME.source,
  minLength: 1,
  maxLength: 64,
} as const;

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

  @ApiProperty({
    ...CATEGORY_DOC,
    description: 'as people write it, e.g. "Electronics"; leading and trailing spaces are dropped',
  })
  @CategoryName()
  category!: string;

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
  @ApiPropertyOptional(CATEGORY_DOC) @IsOptional() @CategoryName() category?: string;
}

export class ChangePriceDto {
  @ApiProperty({ minimum: 0, maximum: MAX_PRICE_CENTS, description: 'in cents (minor units): 4500 is 45.00' })
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE_CENTS)
  priceCents!: number;
}

export class RestockDto {
  @ApiProperty({ minimum: 1, maximum: 1_000_000 }) @IsInt() @Min(1) @Max(1_000_000) quantity!: number;
}

const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

const PriceBound = (description: string, deprecated = false): PropertyDecorator => {
  const decorators = [IsOptional(), Type(() => Number), IsInt(), Min(0), Max(MAX_PRICE_CENTS)];
  const doc = ApiPropertyOptional({
    type: 'integer',
    format: 'int32',
    minimum: 0,
    maximum: MAX_PRICE_CENTS,
    description,
    deprecated,
  });
  return (target, key) => [doc, ...decorators].forEach((decorate) => decorate(target, key));
};

/**
 * `minPrice`/`maxPrice` are the older names of the bounds: one name per bound, not both. Only
 * this rule depends on the other name; the value's own checks (integer, range) always apply.
 */
const NotWith = (other: keyof ListProductsQueryDto): PropertyDecorator =>
  ValidateBy({
    name: 'notWith',
    validator: {
      validate: (_value, args) => (args?.object as ListProductsQueryDto)[other] === undefined,
      defaultMessage: () => `send either $property or ${other}, not both (both are in cents)`,
    },
  });

export class ListProductsQueryDto {
  @ApiPropertyOptional({
    ...CATEGORY_DOC,
    description: 'matched without regard to case: "electronics" finds "Electronics"',
  })
  @IsOptional()
  @CategoryName()
  category?: string;

  @PriceBound('lowest price, inclusive, in cents (minor units of the currency): 5000 is 50.00')
  minPriceCents?: number;

  @PriceBound('highest price, inclusive, in cents (minor units of the currency): 5000 is 50.00')
  maxPriceCents?: number;

  @PriceBound('deprecated name of minPriceCents; also in cents (minor units), not in currency units', true)
  @NotWith('minPriceCents')
  minPrice?: number;

  @PriceBound('deprecated name of maxPriceCents; also in cents (minor units), not in currency units', true)
  @NotWith('maxPriceCents')
  maxPrice?: number;

  @ApiPropertyOptional({
    maxLength: 200,
    description:
      'full-text search over name, category and description (web search syntax: "quoted phrase", -excluded, or); every word also matches as a prefix: "coff" finds coffee',
  })
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
  @ApiProperty({ description: 'price in cents (minor units of currency): 4500 is 45.00' }) priceCents!: number;
  @ApiProperty({ maxLength: 3, pattern: '^[A-Z]{3}$' }) currency!: string;
  @ApiProperty() stock!: number;
  @ApiProperty({ description: 'can be ordered now: active and with stock left (never for a discontinued product)' })
  inStock!: boolean;
  @ApiProperty({ enum: ['active', 'discontinued'] }) status!: string;
  @ApiProperty() version!: number;
  @ApiProperty({ format: 'date-time', maxLength: 32 }) updatedAt!: string;
}

export class CategoryDto {
  @ApiProperty({ maxLength: 64, example: 'Electronics' }) name!: string;
  @ApiProperty({ minimum: 1, maximum: MAX_STOCK, description: 'active products in the category' })
  productCount!: number;
}

export class CategoryListDto {
  @ApiProperty({ type: [CategoryDto], maxItems: MAX_CATEGORIES }) items!: CategoryDto[];
}

export class ProductPageDto {
  @ApiProperty({ type: [ProductDto], maxItems: 100 }) items!: ProductDto[];
  @ApiProperty({ type: String, nullable: true, maxLength: 500 }) nextCursor!: string | null;
}
