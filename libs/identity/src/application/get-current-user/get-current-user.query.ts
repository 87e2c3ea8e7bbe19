import { Query } from '@nestjs/cqrs';

export interface UserView {
  id: string;
  email: string;
  name: string;
  roles: string[];
}

export class GetCurrentUser extends Query<UserView> {
  constructor(readonly userId: string) {
    super();
  }
}
