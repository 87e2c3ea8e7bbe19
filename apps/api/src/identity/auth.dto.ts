import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, Length, MaxLength, MinLength } from 'class-validator';

export class RegisterDto {
  @ApiProperty({ format: 'email', maxLength: 254 }) @IsEmail() @MaxLength(254) email!: string;
  @ApiProperty({ minLength: 12, maxLength: 128 }) @IsString() @MinLength(12) @MaxLength(128) password!: string;
  @ApiProperty({ minLength: 1, maxLength: 100 }) @IsString() @Length(1, 100) name!: string;
}

export class LoginDto {
  @ApiProperty({ format: 'email', maxLength: 254 }) @IsString() @MaxLength(254) email!: string;
  @ApiProperty({ maxLength: 128 }) @IsString() @MaxLength(128) password!: string;
}

export class RegisteredDto {
  @ApiProperty({ format: 'uuid', maxLength: 36 }) id!: string;
}

export class AccessTokenDto {
  @ApiProperty({ maxLength: 4096 }) accessToken!: string;
  @ApiProperty({ enum: ['Bearer'] }) tokenType!: 'Bearer';
  @ApiProperty({ description: 'seconds' }) expiresIn!: number;
}

export class MeDto {
  @ApiProperty({ format: 'uuid', maxLength: 36 }) id!: string;
  @ApiProperty({ format: 'email', maxLength: 254 }) email!: string;
  @ApiProperty({ maxLength: 100 }) name!: string;
  @ApiProperty({ type: [String], enum: ['customer', 'admin'], maxItems: 2, example: ['customer'] }) roles!: string[];
}
