"""The DUSt3R-family network (MonST3R, DUSt3R, MASt3R) as plain nn.Modules, and checkpoint loading.

Importing this package imports torch.
"""

from stereodiff.stage1.croco.loading import load_croco_stereo, save_croco_stereo
from stereodiff.stage1.croco.model import AsymmetricCroCo3DStereo, CroCoStereoConfig, StereoOutput

__all__ = ["AsymmetricCroCo3DStereo", "CroCoStereoConfig", "StereoOutput", "load_croco_stereo", "save_croco_stereo"]
