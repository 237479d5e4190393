// The API's /docs and /redoc pages load Swagger UI and ReDoc from here: the build copies their pinned npm bundles
// to dist/api-docs/<package>@<version>/ (the version in the path, so the files can be cached for good), and
// chalicelib/openapi/pages.py names the same versions (tests/contract/test_api_docs_assets.py keeps them equal).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';

const FILES: Readonly<Record<string, readonly string[]>> = {
  'swagger-ui-dist': ['swagger-ui-bundle.js', 'swagger-ui.css', 'LICENSE', 'NOTICE'],
  redoc: ['bundles/redoc.standalone.js', 'bundles/redoc.standalone.js.LICENSE.txt', 'LICENSE'],
};

export function apiDocs(root: string): Plugin {
  return {
    name: 'vre-api-docs',
    apply: 'build',
    generateBundle() {
      for (const [name, files] of Object.entries(FILES)) {
        const dir = join(root, 'node_modules', name);
        const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
        for (const file of files) {
          const base = file.split('/').pop() ?? file;
          this.emitFile({
            type: 'asset',
            fileName: `api-docs/${name}@${version}/${base}`,
            source: readFileSync(join(dir, file)),
          });
        }
      }
    },
  };
}
