import { QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";

import { SessionProvider, useMe } from "../auth/session";
import { ErrorBox, Loading } from "../components/States";
import { LoginPage } from "../pages/LoginPage";
import { queryClient } from "./queryClient";
import { CLUSTER_VIEWS, HOME, SECTIONS } from "./sections";
import { Shell } from "./Shell";
import { useTheme } from "./theme";

function Routed() {
  const me = useMe();
  const [theme, toggleTheme] = useTheme();
  if (me.isPending) return <Loading what="session" />;
  if (me.error) return <ErrorBox error={me.error} retry={() => void me.refetch()} />;
  if (!me.data) return <LoginPage />;
  return (
    <SessionProvider user={me.data}>
      <Routes>
        <Route element={<Shell theme={theme} toggleTheme={toggleTheme} />}>
          <Route index element={<Navigate to={HOME} replace />} />
          {SECTIONS.map(({ path, page: Page }) => (
            <Route key={path} path={`${path}/*`} element={<Page />} />
          ))}
          {CLUSTER_VIEWS.map(({ view, page: Page }) => (
            <Route key={view} path={`clusters/:cluster/${view}/*`} element={<Page />} />
          ))}
          <Route path="*" element={<Navigate to={HOME} replace />} />
        </Route>
      </Routes>
    </SessionProvider>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <Routed />
      </BrowserRouter>
    </QueryClientProvider>
  );
}
