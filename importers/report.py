"""What an import reports: counts, every invalid row's problems, the codes it wrote, a preview for the web page."""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

Progress = Callable[[str, int, int], None]  # (phase "check" | "write", rows done, rows in the file)


@dataclass
class RowError:
    row: int
    field: str
    message: str
    layer: str = ""


@dataclass
class ImportReport:
    file: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False
    created_codes: list[str] = field(default_factory=list)  # the first REPORT_CODES, for links in the report
    updated_codes: list[str] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)

    def to_dict(self, *, with_preview: bool = False) -> dict:
        data = asdict(self)
        if not with_preview:
            data.pop("preview")
        return data

    def summary(self) -> str:
        head = "（试运行，未写入）" if self.dry_run else ("" if self.written or not self.invalid else "（未写入任何数据）")
        lines = [
            f"导入 {self.file}{head}：读取 {self.read} 行，新增 {self.created}，更新 {self.updated}，"
            f"未变 {self.unchanged}，无效 {self.invalid}",
        ]
        lines += [f"  提示：{w}" for w in self.warnings]
        for e in self.errors[:200]:
            where = f"{e.layer} " if e.layer else ""
            lines.append(f"  {where}第 {e.row} 行 [{e.field}] {e.message}")
        if len(self.errors) > 200:
            lines.append(f"  ……另有 {len(self.errors) - 200} 条错误，见 --report")
        return "\n".join(lines)
