// The upload page (issue 15) is built here; this placeholder only proves the entry is wired into the build.
import { render } from 'preact';

render(<main><h1>Upload</h1></main>, document.getElementById('upload')!);
