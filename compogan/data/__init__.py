"""Datasets: folder layouts per task, transforms, and procedural datasets in data.synthetic.

Every dataset draws the randomness of item i from ``np.random.default_rng([seed, epoch, i])``
and has ``set_epoch(epoch)``, so training resumes exactly and DDP ranks shard it consistently.
"""
