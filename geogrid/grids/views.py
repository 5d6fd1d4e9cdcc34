"""Pages of the grids app: the city map (home) and the planner's grid editor."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from geogrid.accounts.models import Role
from geogrid.core.permissions import role_required
from geogrid.grids.models import Grid, GridLevel, GridSource, GridType


def home(request: HttpRequest) -> HttpResponse:
    """The city map: grids by level, click anywhere to see its grid path."""
    levels = list(GridLevel.objects.all())
    active = Grid.objects.active()
    counts = dict(active.values_list("level").annotate(n=Count("id")).values_list("level", "n"))
    generated = set(
        active.filter(source=GridSource.GENERATED)
        .order_by()
        .values_list("level_id", flat=True)
        .distinct()
    )
    generated_levels = [level for level in levels if level.id in generated]
    return render(
        request,
        "grids/home.html",
        {
            "level_rows": [(level, counts.get(level.id, 0)) for level in levels],
            "generated_levels": generated_levels,
        },
    )


CODE = "000000"  # placeholder in URL templates; the script puts the grid code there


@login_required
@role_required(Role.PLANNER, action="edit grids")
def editor(request: HttpRequest) -> HttpResponse:
    """The planner's grid editor: pick a parent, draw, reshape, split, merge, retire or
    re-divide its children; every edit is checked on the server before it can be saved."""
    english = (get_language() or "").startswith("en")
    roots = Grid.objects.in_scope_of(request.user).active().select_related("level")
    # The shallowest grids in the planner's scope are where the picker starts.
    depth = min((g.level.depth for g in roots), default=0)
    starts = [
        {"code": g.code, "name": g.name}
        for g in roots.filter(level__depth=depth).order_by("code")[:200]
    ]
    levels = [
        {
            "slug": lv.slug,
            "depth": lv.depth,
            "name": lv.name_en if english and lv.name_en else lv.name,
            "min_area_m2": lv.min_area_m2,
            "max_area_m2": lv.max_area_m2,
        }
        for lv in GridLevel.objects.order_by("depth")
    ]
    config = {
        "urls": {
            "grids": reverse("grids-api:grid-list"),
            "edits": reverse("grids-api:grid-edit"),
            "history": reverse("grids-api:grid-history", args=[CODE]),
        },
        "placeholder": CODE,
        "starts": starts,
        "levels": levels,
        "gridTypes": [{"value": value, "label": str(label)} for value, label in GridType.choices],
        "lang": get_language() or "zh-hans",
        "text": _editor_text(),
    }
    return render(request, "grids/editor.html", {"config": config})


def _editor_text() -> dict[str, str]:
    """The editor script's words, translated here so that one catalogue serves the page."""
    return {
        "network": _("无法连接服务器，请检查网络后重试。"),
        "choose": _("— 请选择 —"),
        "loading": _("正在加载…"),
        "failed": _("加载失败："),
        "noChildren": _("没有下级网格。可以绘制新网格，或自动划分。"),
        "childrenOf": _("%(name)s（%(code)s）的下级网格"),
        "area": _("面积"),
        "version": _("版本"),
        "by": _("修改人"),
        "reason": _("原因"),
        "current": _("当前边界"),
        "historyOf": _("历史边界：%(code)s"),
        "replacedBy": _("已被以下网格取代："),
        "replaces": _("取代了："),
        "selected": _("已选中 %(n)s 个网格"),
        "hintIdle": _("点击网格选中，按住 Ctrl 或 Shift 多选。"),
        "hintDraw": _("在地图上逐点点击绘制边界，点击第一个点结束；会自动吸附相邻网格的边和节点。"),
        "hintEdit": _("拖动节点修改边界，拖动边上的小点可增加节点；每次修改后自动检查。"),
        "hintSplit": _(
            "画一条横穿所选网格的线：从网格外开始，到网格外结束，再点一次最后一点完成。"
        ),
        "hintMerge": _("合并后生成一个新编码的网格，原网格退役。"),
        "hintRetire": _("退役的网格保留在历史中，编码不再使用；其范围将成为缝隙。"),
        "hintDivide": _("按目标面积把上级网格重新划分为单元网格；先预览，确认后保存。"),
        "selectOne": _("请先选中一个网格。"),
        "selectMany": _("请选中至少两个相邻的网格。"),
        "pickParent": _("请先选择上级网格。"),
        "nothingToUndo": _("没有可撤销的操作。"),
        "checking": _("正在检查…"),
        "saving": _("正在保存…"),
        "ok": _("检查通过，可以保存。"),
        "saved": _("已保存。"),
        "problems": _("发现 %(n)s 个问题，不能保存："),
        "warnings": _("请注意："),
        "created": _("将新建"),
        "changed": _("将修改"),
        "retired": _("将退役"),
        "createdDone": _("已新建"),
        "changedDone": _("已修改"),
        "retiredDone": _("已退役"),
        "componentsMoved": _("%(n)s 个部件将变更所属网格"),
        "casesMoved": _("%(n)s 个未结案件将变更所属网格"),
        "casesLeft": _("%(n)s 个未结案件将留在已退役的网格中"),
        "conflict": _(
            "网格 %(code)s 已被 %(who)s 于 %(when)s 修改（当前版本 %(version)s）。"
            "您的图形已保留，可以在新版本上重试。"
        ),
        "retry": _("用我的图形重试"),
        "reload": _("放弃并重新加载"),
        "kind_overlap": _("重叠"),
        "kind_gap": _("缝隙"),
        "kind_escape": _("超出上级"),
        "kind_invalid": _("图形无效"),
        "kind_area": _("面积不符"),
        "colon": _("："),
        "listSep": _("、"),
        "attributesOf": _("网格 %(code)s 的属性"),
        "attributesSaved": _("属性已保存。"),
        "refused_line_does_not_cut": _(
            "这条线没有把网格切成两块：请从网格外开始画，横穿网格，到网格外结束。"
        ),
        "refused_not_adjacent": _("所选网格不相连（只有公共边的网格才能合并，只相接于一点不行）。"),
        "refused_has_children": _("该网格下还有下级网格：请先编辑或重新划分其下级网格。"),
        "refused_retired": _("该网格已退役，不能再编辑。"),
        "refused_merge_needs_two": _("请至少选中两个网格再合并。"),
        "refused_mixed_parents": _("只能合并同一上级下、同一层级的网格。"),
        "error": _("出错了："),
        "confirmLeave": _("有未保存的修改，确定放弃吗？"),
        # Problems in the page's language, composed from the check's kind, codes and area.
        "gridLabel": _("网格 %(code)s"),
        "newGrid": _("新网格"),
        "msg_overlap": _("%(a)s 与 %(b)s 重叠 %(area)s。"),
        "msg_gap": _("%(a)s 内有 %(area)s 不属于任何下级网格（缝隙）。"),
        "msg_escape": _("%(a)s 有 %(area)s 超出上级网格。"),
        "msg_area": _("%(a)s 面积 %(area)s，不在本层级允许的 %(min)s 至 %(max)s 之间。"),
        "msg_invalid": _(
            "图形无效：边界自相交或有重复节点（%(where)s）。请移动节点，使边界不再交叉。"
        ),
    }
