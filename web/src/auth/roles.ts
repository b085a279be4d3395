/** Roles, each allowed everything the one below it is (as on the server). */

import type { Role } from "../api/types";

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

export function allows(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}

export const ROLES: readonly Role[] = ["viewer", "editor", "admin"];
