/** The frame around every page: navigation, who is logged in, theme, and g-key shortcuts. */
import { Suspense, useEffect } from "react";
import { NavLink, Outlet, useMatch, useNavigate } from "react-router-dom";

import { useSession } from "../auth/session";
import { Loading } from "../components/States";
import { clusterPath } from "../clusters/ClusterScope";
import { type Section, SECTIONS } from "./sections";
import type { Theme } from "./theme";

function isTyping(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  return !!element?.closest("input, textarea, select, [contenteditable], .monaco-editor, dialog");
}

function sectionLink(section: Section, cluster: string | undefined): string {
  return section.clusterView && cluster ? clusterPath(cluster, section.clusterView) : `/${section.path}`;
}

/** "g" then a section's key jumps to it, as in many web apps. */
function useSectionShortcuts(scope: string | undefined) {
  const navigate = useNavigate();
  useEffect(() => {
    let armed = false;
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
      if (armed) {
        armed = false;
        const section = SECTIONS.find((s) => s.key === event.key);
        if (section) navigate(sectionLink(section, scope));
      } else if (event.key === "g") {
        armed = true;
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [navigate, scope]);
}

export function Shell({ theme, toggleTheme }: { theme: Theme; toggleTheme: () => void }) {
  const { user, logout } = useSession();
  // Within a cluster's page, the other cluster pages stay on that cluster.
  const scope = useMatch("/clusters/:cluster/*")?.params.cluster;
  useSectionShortcuts(scope);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">Headwater</div>
        <ul>
          {SECTIONS.map((section) => (
            <li key={section.path}>
              <NavLink to={sectionLink(section, scope)} title={`g then ${section.key}`}>
                {section.label}
              </NavLink>
            </li>
          ))}
        </ul>
        <div className="sidebar-footer">
          <div className="whoami">
            <span>{user.username}</span>
            <span className={`badge role-${user.role}`}>{user.role}</span>
          </div>
          <button type="button" className="link" onClick={toggleTheme}>
            {theme === "dark" ? "Light theme" : "Dark theme"}
          </button>
          <button type="button" className="link" onClick={logout}>
            Log out
          </button>
        </div>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Suspense fallback={<Loading what="page" />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
