/** Flat file paths of a project shaped into a tree for the file browser. */

export interface TreeNode {
  name: string;
  /** The full path; for a folder, its path without a trailing slash. */
  path: string;
  kind: "file" | "folder";
  children: TreeNode[];
}

/** Folders first, then files, each by name; folders are implied by the paths in them. */
export function buildFileTree(paths: readonly string[]): TreeNode[] {
  const root: TreeNode = { name: "", path: "", kind: "folder", children: [] };
  for (const path of paths) {
    const parts = path.split("/").filter(Boolean);
    let node = root;
    parts.forEach((part, index) => {
      const isFile = index === parts.length - 1;
      const childPath = parts.slice(0, index + 1).join("/");
      let child = node.children.find((c) => c.name === part && (c.kind === "file") === isFile);
      if (!child) {
        child = { name: part, path: childPath, kind: isFile ? "file" : "folder", children: [] };
        node.children.push(child);
      }
      node = child;
    });
  }
  sortTree(root);
  return root.children;
}

function sortTree(node: TreeNode): void {
  node.children.sort((a, b) =>
    a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "folder" ? -1 : 1,
  );
  node.children.forEach(sortTree);
}

const LANGUAGES: Record<string, string> = {
  py: "python",
  yaml: "yaml",
  yml: "yaml",
  md: "markdown",
  json: "json",
  toml: "ini",
  cfg: "ini",
  ini: "ini",
  sql: "sql",
  txt: "plaintext",
};

/** The Monaco language id for a file. */
export function languageFor(path: string): string {
  const ext = path.includes(".") ? path.slice(path.lastIndexOf(".") + 1).toLowerCase() : "";
  return LANGUAGES[ext] ?? "plaintext";
}

/** The file to open first: the manifest's entry point if obvious, else a Python file. */
export function defaultFile(paths: readonly string[]): string | undefined {
  const python = paths.filter((p) => p.endsWith(".py"));
  return (
    python.find((p) => p === "app.py" || p.endsWith("/app.py")) ??
    python.find((p) => p === "main.py") ??
    python[0] ??
    paths[0]
  );
}

/**
 * Why a new file path is not acceptable, or null if it is. Mirrors the server's rules loosely;
 * the server has the last word and its message is shown too.
 */
export function pathProblem(path: string, existing: readonly string[]): string | null {
  const clean = path.trim();
  if (!clean) return "enter a path, e.g. features.py or lib/util.py";
  if (clean.startsWith("/")) return "use a path relative to the project root (no leading /)";
  if (clean.split("/").some((p) => p === ".." || p === "." || p === ""))
    return "a path cannot contain empty, '.' or '..' parts";
  if (clean.split("/")[0] === ".git") return ".git is reserved for Git itself";
  if (existing.includes(clean)) return `${clean} exists already: choose another name`;
  return null;
}
