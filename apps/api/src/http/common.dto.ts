import { ApiProperty } from '@nestjs/swagger';

export class CommandResultDto {
  @ApiProperty({ format: 'uuid', maxLength: 36 }) id!: string;
  @ApiProperty({ example: 3, description: 'aggregate version after the command; send it as If-Match' })
  version!: number;
  @ApiProperty({
    example: '1042',
    maxLength: 20,
    pattern: '^[1-9][0-9]*$',
    description: 'event-log position; send it as X-Min-Position on a query to read your own write',
  })
  position!: string;
}

export class ProblemDto {
  @ApiProperty({ example: '/problems/out-of-stock', maxLength: 200 }) type!: string;
  @ApiProperty({ example: 'Conflict', maxLength: 100 }) title!: string;
  @ApiProperty({ example: 409 }) status!: number;
  @ApiProperty({ maxLength: 2000 }) detail!: string;
  @ApiProperty({ example: 'out-of-stock', description: 'stable machine-readable code', maxLength: 100 }) code!: string;
  @ApiProperty({ required: false, maxLength: 2000 }) instance?: string;
}
