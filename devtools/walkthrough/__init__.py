"""Walkthrough clips: people with known identities, boxes and labels walking over real scenes.

Each clip is an H.264 MP4 (1280x720, 10 fps) with a `<clip>.truth.json` that
`maskwatch.app.evaluation.truth.load_truth` reads, for an event-level evaluation of the tracker: who
appears, when, where, and what they wear. `people` screens the cut-outs (the selection and its
reason are in its docstring), `scenarios` says who walks where, `render` draws and writes the
clips, `build` puts sets together: `python -m devtools.walkthrough --set ci|full --out DIR`.
"""
