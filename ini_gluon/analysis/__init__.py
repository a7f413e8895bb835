"""What a network is and does, for the tools above it: its summary and counts
(:mod:`~ini_gluon.analysis.summary`), what each attention block computes
(:mod:`~ini_gluon.analysis.inspect`), Grad-CAM (:mod:`~ini_gluon.analysis.gradcam`), a trained
model's scores on a test split and its predictions (:mod:`~ini_gluon.analysis.evaluation`),
and its throughput and memory (:mod:`~ini_gluon.analysis.throughput`).
"""
