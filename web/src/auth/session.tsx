/** Who is logged in: the `me` query, login and logout, and role checks for write controls. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext, useEffect } from "react";

import { ApiError, api, onUnauthorized, type Role, type User } from "../api";
import { allows } from "./roles";

const ME = ["me"] as const;

async function fetchMe(): Promise<User | null> {
  try {
    return await api.auth.me();
  } catch (error) {
    if (error instanceof ApiError && error.unauthorized) return null;
    throw error;
  }
}

interface Session {
  user: User;
  logout: () => void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside of a logged-in page");
  return session;
}

/** Whether the logged-in user's role allows `needed`; pages hide write controls with it. */
export function useCan(needed: Role): boolean {
  return allows(useContext(SessionContext)?.user.role, needed);
}

export function Can({ role, children }: { role: Role; children: ReactNode }) {
  return useCan(role) ? <>{children}</> : null;
}

export function useMe() {
  const queryClient = useQueryClient();
  useEffect(
    () => onUnauthorized(() => queryClient.setQueryData(ME, null)),
    [queryClient],
  );
  return useQuery({ queryKey: ME, queryFn: fetchMe });
}

export function useLogin() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ username, password }: { username: string; password: string }) =>
      api.auth.login(username, password),
    onSuccess: (result) => queryClient.setQueryData(ME, result.user),
  });
}

export function SessionProvider({ user, children }: { user: User; children: ReactNode }) {
  const queryClient = useQueryClient();
  const logout = useMutation({
    mutationFn: api.auth.logout,
    onSettled: () => {
      queryClient.clear();
      queryClient.setQueryData(ME, null);
    },
  });
  return (
    <SessionContext.Provider value={{ user, logout: () => logout.mutate() }}>
      {children}
    </SessionContext.Provider>
  );
}
