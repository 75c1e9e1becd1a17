"""Video jobs: a video file sampled frame by frame through a tool or a pipeline (issue 14).

A video job is an ordinary job (``/v1/jobs``: status, progress, events, cancel) with plugin
``video``; :class:`~app.video.service.VideoService` accepts it and
:class:`~app.video.runner.VideoJobRunner` runs it, one governed tool call per sampled frame,
checkpointing per-frame results in the job store so a restarted job resumes where it was.
"""
