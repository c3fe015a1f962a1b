"""The spherization layer's equations in LaTeX, for `st.latex` and Markdown math on the pages."""

ANGLE = r"\varphi = \left(\tfrac{\pi}{2} - \varphi_L\right)\sigma(\alpha z) + \varphi_L"
ANGLE_RANGE = r"\left[\varphi_L, \tfrac{\pi}{2}\right]"  # where every angle stays
LOWER_ANGLE = r"\varphi_L = \arcsin\left(\delta^{1/n}\right)"
CARTESIAN = (
    r"s = r\,\Bigl(\cos\varphi_1,\ \sin\varphi_1\cos\varphi_2,\ \dots,\ "
    r"\prod_{i<n}\sin\varphi_i\,\cos\varphi_n,\ \prod_{i\le n}\sin\varphi_i\Bigr)"
)
NORM = r"\lVert s\rVert = r"
# two lines: one fits a third of a 1280-px-wide page
LOGIT = (
    r"\begin{aligned}\mathrm{logit}_j &= w_j \cdot s \\"
    r" &= r\,\lVert w_j\rVert \cos\angle(s, w_j)\end{aligned}"
)
