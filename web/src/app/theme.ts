/** Light and dark themes: the user's choice, else the system's. */
import { useCallback, useEffect, useState } from "react";

export type Theme = "light" | "dark";
const KEY = "headwater.theme";

function initialTheme(): Theme {
  const saved = localStorage.getItem(KEY);
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(initialTheme);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const toggle = useCallback(() => {
    setTheme((current) => {
      const next = current === "dark" ? "light" : "dark";
      localStorage.setItem(KEY, next);
      return next;
    });
  }, []);
  return [theme, toggle];
}

/** Whether the app shows its dark theme now (the editors and the graph follow it). */
export function isDark(): boolean {
  return document.documentElement.dataset.theme === "dark";
}
