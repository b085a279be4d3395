import { Navigate, NavLink, Route, Routes } from "react-router-dom";

import { useCan } from "../auth/session";
import { AccountSettings } from "./AccountSettings";
import { ClusterSettings } from "./ClusterSettings";
import { SecretSettings } from "./SecretSettings";
import { TokenSettings } from "./TokenSettings";
import { UserSettings } from "./UserSettings";

export default function SettingsPage() {
  const isAdmin = useCan("admin");
  const tabs = [
    { path: "clusters", label: "Broker connection", element: <ClusterSettings /> },
    ...(isAdmin ? [{ path: "users", label: "Users and roles", element: <UserSettings /> }] : []),
    { path: "tokens", label: "API tokens", element: <TokenSettings /> },
    { path: "secrets", label: "Secrets", element: <SecretSettings /> },
    { path: "account", label: "Account", element: <AccountSettings /> },
  ];
  return (
    <div className="page">
      <header className="page-header">
        <h1>Settings</h1>
      </header>
      <nav className="tabs" aria-label="Settings">
        {tabs.map((t) => (
          <NavLink key={t.path} to={`/settings/${t.path}`} role="tab">
            {t.label}
          </NavLink>
        ))}
      </nav>
      <Routes>
        <Route index element={<Navigate to="clusters" replace />} />
        {tabs.map((t) => (
          <Route key={t.path} path={t.path} element={t.element} />
        ))}
        <Route path="*" element={<Navigate to="/settings/clusters" replace />} />
      </Routes>
    </div>
  );
}
