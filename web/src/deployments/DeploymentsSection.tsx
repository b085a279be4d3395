import { Route, Routes } from "react-router-dom";

import { DeploymentDetail } from "./DeploymentDetail";
import { DeploymentList } from "./DeploymentList";

export default function DeploymentsSection() {
  return (
    <Routes>
      <Route index element={<DeploymentList />} />
      <Route path=":id" element={<DeploymentDetail />} />
    </Routes>
  );
}
