import { Route, Routes } from "react-router-dom";

import { ProjectList } from "./ProjectList";
import { Workspace } from "./Workspace";

export default function ProjectsSection() {
  return (
    <Routes>
      <Route index element={<ProjectList />} />
      <Route path=":name/*" element={<Workspace />} />
    </Routes>
  );
}
