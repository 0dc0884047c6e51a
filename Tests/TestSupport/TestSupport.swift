import Diffusion
