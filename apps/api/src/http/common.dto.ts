import { ApiProperty } from '@nestjs/swagger';

export class CommandResultDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 3, description: 'aggregate version after the command; send it as If-Match' })
  version!: number;
  @ApiProperty({
    example: '1042',
    description: 'event-log position; send it as X-Min-Position on a query to read your own write',
  })
  position!: string;
}

export class ProblemDto {
  @ApiProperty({ example: '/problems/out-of-stock' }) type!: string;
  @ApiProperty({ example: 'Conflict' }) title!: string;
  @ApiProperty({ example: 409 }) status!: number;
  @ApiProperty() detail!: string;
  @ApiProperty({ example: 'out-of-stock', description: 'stable machine-readable code' }) code!: string;
  @ApiProperty({ required: false }) instance?: string;
}
