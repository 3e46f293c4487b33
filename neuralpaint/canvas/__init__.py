"""Putting strokes on a canvas.

* ``cells`` (torch) -- the painter's differentiable compositor: strokes rendered on the small
  cells they reach and composited in order, with the compiled kernels as autograd ops on CPU;
* ``compositing`` (torch) -- compositing tensors in order, blank canvases;
* ``render`` (numpy + the compiled kernels, no torch) -- finished paintings at any size: in
  bounded memory, band by band, straight into an image file (``render-hires``).

Nothing is imported here, so ``neuralpaint.canvas.render`` loads without torch.
"""
