// Saved pipelines as the pages offer them: listed beside the plugins under the name
// "pipeline" (as jobs, MCP and streams name them), described by their steps.

import { api } from "./api.js";

/** The plugin name a pipeline goes by on every door (jobs, MCP, streams). */
export const PIPELINE = "pipeline";

/** Saved pipelines ([] when the key may not list them or the server has none). */
export async function savedPipelines() {
  try {
    return (await api("/v1/pipelines")).pipelines ?? [];
  } catch {
    return [];
  }
}

/** "faces = faces.detect → colours = image_info.describe, for each faces.faces" */
export function stepsText(spec) {
  return (spec?.steps ?? [])
    .map((step) => `${step.id} = ${step.tool}${step.for_each ? `, for each ${step.for_each}` : ""}`)
    .join(" → ");
}

/** A pipeline looks like a tool to the pages: it takes an image and no options. */
export function asTool(saved) {
  const about = [saved.spec.description, `Steps: ${stepsText(saved.spec)}.`].filter(Boolean).join(" ");
  return {
    name: saved.name,
    description: about,
    input_schema: { type: "object", properties: { image: { type: "string" } } },
    pipeline: saved,
  };
}

/** A Blob as a data: URL (pipeline runs take the image as JSON; a data: URL is accepted). */
export function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
