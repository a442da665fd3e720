"""Cron schedules: fire times (:mod:`.cron`) and the scheduler loop (:mod:`.scheduler`).

A schedule starts one run of a pipeline file per fire time; any number of
workers may run the scheduler, and the ``schedule_fires`` unique key makes
sure each fire time starts exactly one run.
"""
