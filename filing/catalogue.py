"""Reference data as data: case-type codes, court-code abbreviations, Internet-court categories and
a subset of the civil causes of action.

Sources:
- case-type codes and court codes: SPC rules on case numbers (法〔2015〕137号, amended
  法〔2018〕335号) and their annex (LEGAL §2). Only a subset of the annex is listed; entries marked
  (check) were not confirmed against the annex text.
- Internet-court categories: SPC provisions on Internet courts (最高人民法院关于互联网法院审理案件
  若干问题的规定, 2018), Art. 2.
- causes of action: 民事案件案由规定 (2020 amendment, 法〔2020〕346号, in force 2021-01-01).
  The SPC amended it again (法〔2025〕227号, in force 2026-01-01); names here follow 2020 and
  must be checked against the 2026 text. The official serial numbers are not reproduced: ``code``
  is our own stable key, ``path`` the official hierarchy (part › category › cause).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# ------------------------------------------------------------------------------- case types


class CaseCategory(StrEnum):
    CIVIL = "civil"
    CRIMINAL = "criminal"
    ADMINISTRATIVE = "administrative"
    ENFORCEMENT = "enforcement"
    PRESERVATION = "preservation"


@dataclass(frozen=True)
class CaseTypeCode:
    code: str  # at most 3 characters, unique (LEGAL §2)
    name_zh: str
    name_en: str
    category: CaseCategory


CASE_TYPE_CODES: tuple[CaseTypeCode, ...] = (
    CaseTypeCode("民初", "民事一审案件", "Civil case, first instance", CaseCategory.CIVIL),
    CaseTypeCode(
        "民终", "民事二审案件", "Civil case, second instance (appeal)", CaseCategory.CIVIL
    ),
    CaseTypeCode("民申", "民事申请再审审查案件", "Civil retrial application", CaseCategory.CIVIL),
    CaseTypeCode("民再", "民事再审案件", "Civil retrial", CaseCategory.CIVIL),
    CaseTypeCode("民监", "民事审判监督案件", "Civil trial supervision", CaseCategory.CIVIL),
    CaseTypeCode(
        "民撤", "第三人撤销之诉案件", "Third-party action to revoke a judgment", CaseCategory.CIVIL
    ),
    CaseTypeCode("民特", "民事特别程序案件", "Civil special procedure", CaseCategory.CIVIL),
    CaseTypeCode("民督", "申请支付令审查案件", "Payment order application", CaseCategory.CIVIL),
    CaseTypeCode("民催", "公示催告案件", "Public summons for exhortation", CaseCategory.CIVIL),
    CaseTypeCode("民辖", "民事管辖案件", "Civil jurisdiction matter", CaseCategory.CIVIL),
    CaseTypeCode(
        "民辖终", "民事管辖上诉案件", "Civil jurisdiction appeal", CaseCategory.CIVIL
    ),  # (check)
    CaseTypeCode("刑初", "刑事一审案件", "Criminal case, first instance", CaseCategory.CRIMINAL),
    CaseTypeCode(
        "刑终", "刑事二审案件", "Criminal case, second instance (appeal)", CaseCategory.CRIMINAL
    ),
    CaseTypeCode("刑申", "刑事申诉审查案件", "Criminal petition review", CaseCategory.CRIMINAL),
    CaseTypeCode("刑再", "刑事再审案件", "Criminal retrial", CaseCategory.CRIMINAL),
    CaseTypeCode(
        "行初", "行政一审案件", "Administrative case, first instance", CaseCategory.ADMINISTRATIVE
    ),
    CaseTypeCode(
        "行终",
        "行政二审案件",
        "Administrative case, second instance (appeal)",
        CaseCategory.ADMINISTRATIVE,
    ),
    CaseTypeCode(
        "行申",
        "行政申请再审审查案件",
        "Administrative retrial application",
        CaseCategory.ADMINISTRATIVE,
    ),
    CaseTypeCode("行再", "行政再审案件", "Administrative retrial", CaseCategory.ADMINISTRATIVE),
    CaseTypeCode(
        "行审",
        "非诉行政行为申请执行审查案件",
        "Review of an application to enforce an administrative act",
        CaseCategory.ADMINISTRATIVE,
    ),
    CaseTypeCode("执", "首次执行案件", "Enforcement, first application", CaseCategory.ENFORCEMENT),
    CaseTypeCode("执恢", "恢复执行案件", "Enforcement, resumed", CaseCategory.ENFORCEMENT),
    CaseTypeCode(
        "执保", "财产保全执行案件", "Enforcement of preservation", CaseCategory.ENFORCEMENT
    ),
    CaseTypeCode("执异", "执行异议案件", "Enforcement objection", CaseCategory.ENFORCEMENT),
    CaseTypeCode("执复", "执行复议案件", "Enforcement review", CaseCategory.ENFORCEMENT),
    CaseTypeCode("执监", "执行监督案件", "Enforcement supervision", CaseCategory.ENFORCEMENT),
    CaseTypeCode(
        "财保",
        "非诉财产保全审查案件",
        "Property preservation before action or in arbitration",
        CaseCategory.PRESERVATION,
    ),  # (check)
)
CASE_TYPES_BY_CODE: dict[str, CaseTypeCode] = {t.code: t for t in CASE_TYPE_CODES}

# Special-trial prefixes written between the court code and the type code, e.g. 知民终 for an IP
# appeal. Only the IP prefix is listed (check the annex for others).
SPECIAL_TRIAL_CODES: dict[str, tuple[str, str]] = {
    "知": ("知识产权", "intellectual property"),
}

# ------------------------------------------------------------------------------- court codes


@dataclass(frozen=True)
class Province:
    abbreviation: str  # the first character of every court code in the province
    name_zh: str
    name_en: str
    division_prefix: str | None  # first two digits of GB/T 2260 division codes


PROVINCES: tuple[Province, ...] = (
    Province("京", "北京市", "Beijing", "11"),
    Province("津", "天津市", "Tianjin", "12"),
    Province("冀", "河北省", "Hebei", "13"),
    Province("晋", "山西省", "Shanxi", "14"),
    Province("内", "内蒙古自治区", "Inner Mongolia", "15"),  # case numbers use 内, not 蒙
    Province("辽", "辽宁省", "Liaoning", "21"),
    Province("吉", "吉林省", "Jilin", "22"),
    Province("黑", "黑龙江省", "Heilongjiang", "23"),
    Province("沪", "上海市", "Shanghai", "31"),
    Province("苏", "江苏省", "Jiangsu", "32"),
    Province("浙", "浙江省", "Zhejiang", "33"),
    Province("皖", "安徽省", "Anhui", "34"),
    Province("闽", "福建省", "Fujian", "35"),
    Province("赣", "江西省", "Jiangxi", "36"),
    Province("鲁", "山东省", "Shandong", "37"),
    Province("豫", "河南省", "Henan", "41"),
    Province("鄂", "湖北省", "Hubei", "42"),
    Province("湘", "湖南省", "Hunan", "43"),
    Province("粤", "广东省", "Guangdong", "44"),
    Province("桂", "广西壮族自治区", "Guangxi", "45"),
    Province("琼", "海南省", "Hainan", "46"),
    Province("渝", "重庆市", "Chongqing", "50"),
    Province("川", "四川省", "Sichuan", "51"),
    Province("黔", "贵州省", "Guizhou", "52"),
    Province("云", "云南省", "Yunnan", "53"),
    Province("藏", "西藏自治区", "Tibet", "54"),
    Province("陕", "陕西省", "Shaanxi", "61"),
    Province("甘", "甘肃省", "Gansu", "62"),
    Province("青", "青海省", "Qinghai", "63"),
    Province("宁", "宁夏回族自治区", "Ningxia", "64"),
    Province("新", "新疆维吾尔自治区", "Xinjiang", "65"),
    # Courts of the Xinjiang Production and Construction Corps; no division prefix of their own.
    Province("兵", "新疆生产建设兵团", "Xinjiang Production and Construction Corps", None),
)
PROVINCES_BY_ABBREVIATION: dict[str, Province] = {p.abbreviation: p for p in PROVINCES}
SUPREME_COURT_CODE = "最高法"

# ------------------------------------------------------------------- Internet-court categories


@dataclass(frozen=True)
class InternetCategory:
    key: str
    name_zh: str
    name_en: str


# SPC provisions on Internet courts (2018), Art. 2: first-instance cases that basic courts of the
# city would otherwise hear, concentrated in the Internet court.
INTERNET_COURT_CATEGORIES: tuple[InternetCategory, ...] = (
    InternetCategory(
        "online_shopping_contract",
        "通过电子商务平台签订或者履行网络购物合同而产生的纠纷",
        "Online shopping contracts concluded or performed through an e-commerce platform",
    ),
    InternetCategory(
        "online_service_contract",
        "签订、履行行为均在互联网上完成的网络服务合同纠纷",
        "Online service contracts concluded and performed entirely online",
    ),
    InternetCategory(
        "online_loan_contract",
        "签订、履行行为均在互联网上完成的金融借款合同纠纷、小额借款合同纠纷",
        "Financial and small-loan contracts concluded and performed entirely online",
    ),
    InternetCategory(
        "online_copyright_ownership",
        "在互联网上首次发表作品的著作权或者邻接权权属纠纷",
        "Ownership of copyright or neighbouring rights in works first published online",
    ),
    InternetCategory(
        "online_copyright_infringement",
        "在互联网上侵害在线发表或者传播作品的著作权或者邻接权而产生的纠纷",
        "Online infringement of copyright or neighbouring rights in works published online",
    ),
    InternetCategory(
        "domain_name",
        "互联网域名权属、侵权及合同纠纷",
        "Internet domain names: ownership, infringement and contracts",
    ),
    InternetCategory(
        "online_personality_property_rights",
        "在互联网上侵害他人人身权、财产权等民事权益而产生的纠纷",
        "Online infringement of personality, property and other civil rights",
    ),
    InternetCategory(
        "online_product_liability",
        "通过电子商务平台购买的产品，因存在产品缺陷，侵害他人人身、财产权益而产生的产品责任纠纷",
        "Product liability for defective products bought through an e-commerce platform",
    ),
    InternetCategory(
        "internet_public_interest",
        "检察机关提起的互联网公益诉讼案件",
        "Internet public-interest actions brought by procuratorates",
    ),
    InternetCategory(
        "internet_administrative",
        "因行政机关作出互联网信息服务管理、互联网商品交易及有关服务管理等行政行为而产生的行政纠纷",
        "Administrative disputes over the regulation of Internet information services and "
        "online trade",
    ),
    InternetCategory(
        "designated_by_higher_court",
        "上级人民法院指定管辖的其他互联网民事、行政案件",
        "Other Internet civil and administrative cases assigned by a higher court",
    ),
)
INTERNET_CATEGORIES_BY_KEY: dict[str, InternetCategory] = {
    c.key: c for c in INTERNET_COURT_CATEGORIES
}

# ------------------------------------------------------------------------ causes of action

_PARTS: dict[int, tuple[str, str]] = {
    1: ("第一部分 人格权纠纷", "Part 1 Personality rights disputes"),
    2: ("第二部分 婚姻家庭、继承纠纷", "Part 2 Marriage, family and succession disputes"),
    3: ("第三部分 物权纠纷", "Part 3 Real rights disputes"),
    4: ("第四部分 合同、准合同纠纷", "Part 4 Contract and quasi-contract disputes"),
    5: ("第五部分 知识产权与竞争纠纷", "Part 5 Intellectual property and competition disputes"),
    6: ("第六部分 劳动争议、人事争议", "Part 6 Labour and personnel disputes"),
    8: (
        "第八部分 与公司、证券、保险、票据等有关的民事纠纷",
        "Part 8 Disputes concerning companies, securities, insurance, negotiable instruments, etc.",
    ),
    9: ("第九部分 侵权责任纠纷", "Part 9 Tort liability disputes"),
    10: ("第十部分 非讼程序案件案由", "Part 10 Non-contentious procedure matters"),
    11: ("第十一部分 特殊诉讼程序案件案由", "Part 11 Special litigation procedure matters"),
}


@dataclass(frozen=True)
class Cause:
    code: str  # our stable key; dotted, the parent's code is a prefix
    name_zh: str
    name_en: str
    part: int
    category_zh: str  # second-level cause (类)
    category_en: str
    internet_category: str | None = None  # when concluded/committed online, see the category

    @property
    def level(self) -> int:
        # Third-level causes (numbered 1., 2. … in the rules) have two dots in their code,
        # fourth-level ones ((1), (2) …) three.
        return self.code.count(".") + 1

    @property
    def parent_code(self) -> str | None:
        parent = self.code.rsplit(".", 1)[0]
        return parent if parent.count(".") >= 2 else None

    @property
    def part_zh(self) -> str:
        return _PARTS[self.part][0]

    @property
    def part_en(self) -> str:
        return _PARTS[self.part][1]


_PERS = ("人格权纠纷", "Personality rights disputes")
_FAM = ("婚姻家庭纠纷", "Marriage and family disputes")
_SUCC = ("继承纠纷", "Succession disputes")
_PROT = ("物权保护纠纷", "Protection of real rights")
_OWN = ("所有权纠纷", "Ownership disputes")
_CONT = ("合同纠纷", "Contract disputes")
_UNJ = ("不当得利纠纷", "Unjust enrichment disputes")
_IPR = ("知识产权权属、侵权纠纷", "IP ownership and infringement disputes")
_UNF = ("不正当竞争纠纷", "Unfair competition disputes")
_LAB = ("劳动争议", "Labour disputes")
_CO = ("与公司有关的纠纷", "Company-related disputes")
_INS = ("保险纠纷", "Insurance disputes")
_BILL = ("票据纠纷", "Negotiable instrument disputes")
_TORT = ("侵权责任纠纷", "Tort liability disputes")
_DUN = ("督促程序案件案由", "Payment order procedure")
_PUB = ("公益诉讼", "Public-interest litigation")

_ONLINE_RIGHTS = "online_personality_property_rights"


def _c(
    code: str, zh: str, en: str, part: int, cat: tuple[str, str], net: str | None = None
) -> Cause:
    return Cause(code, zh, en, part, cat[0], cat[1], net)


CAUSES: tuple[Cause, ...] = (
    _c("1.pers.life", "生命权、身体权、健康权纠纷", "Rights to life, body and health", 1, _PERS),
    _c("1.pers.portrait", "肖像权纠纷", "Portrait rights", 1, _PERS, _ONLINE_RIGHTS),
    _c("1.pers.reputation", "名誉权纠纷", "Reputation rights", 1, _PERS, _ONLINE_RIGHTS),
    _c(
        "1.pers.privacy",
        "隐私权、个人信息保护纠纷",
        "Privacy and personal information protection",
        1,
        _PERS,
        _ONLINE_RIGHTS,
    ),
    _c("1.pers.privacy.privacy", "隐私权纠纷", "Privacy", 1, _PERS, _ONLINE_RIGHTS),
    _c(
        "1.pers.privacy.pi",
        "个人信息保护纠纷",
        "Personal information protection",
        1,
        _PERS,
        _ONLINE_RIGHTS,
    ),
    _c("1.pers.general", "一般人格权纠纷", "General personality rights", 1, _PERS),
    _c("2.fam.divorce", "离婚纠纷", "Divorce", 2, _FAM),
    _c("2.fam.post_divorce_property", "离婚后财产纠纷", "Property after divorce", 2, _FAM),
    _c("2.fam.upbringing", "抚养纠纷", "Upbringing of children", 2, _FAM),
    _c("2.fam.elder_support", "赡养纠纷", "Support of parents", 2, _FAM),
    _c("2.succ.statutory", "法定继承纠纷", "Statutory succession", 2, _SUCC),
    _c("2.succ.testamentary", "遗嘱继承纠纷", "Testamentary succession", 2, _SUCC),
    _c("3.prot.return", "返还原物纠纷", "Return of property", 3, _PROT),
    _c("3.own.neighbour", "相邻关系纠纷", "Neighbouring relations", 3, _OWN),
    _c("3.own.co_ownership", "共有纠纷", "Co-ownership", 3, _OWN),
    _c("3.own.co_ownership.partition", "共有物分割纠纷", "Partition of co-owned property", 3, _OWN),
    _c(
        "4.cont.pre_contract",
        "缔约过失责任纠纷",
        "Liability for fault in concluding a contract",
        4,
        _CONT,
    ),
    _c("4.cont.sale", "买卖合同纠纷", "Sale contracts", 4, _CONT),
    _c(
        "4.cont.sale.online",
        "信息网络买卖合同纠纷",
        "Sale contracts concluded through information networks (online shopping)",
        4,
        _CONT,
        "online_shopping_contract",
    ),
    _c("4.cont.house_sale", "房屋买卖合同纠纷", "House sale contracts", 4, _CONT),
    _c("4.cont.loan", "借款合同纠纷", "Loan contracts", 4, _CONT),
    _c(
        "4.cont.loan.financial",
        "金融借款合同纠纷",
        "Loans from financial institutions",
        4,
        _CONT,
        "online_loan_contract",
    ),
    _c(
        "4.cont.loan.small",
        "小额借款合同纠纷",
        "Loans from small-loan companies",
        4,
        _CONT,
        "online_loan_contract",
    ),
    _c("4.cont.loan.private", "民间借贷纠纷", "Private lending", 4, _CONT),
    _c("4.cont.surety", "保证合同纠纷", "Suretyship contracts", 4, _CONT),
    _c("4.cont.lease", "租赁合同纠纷", "Lease contracts", 4, _CONT),
    _c("4.cont.lease.house", "房屋租赁合同纠纷", "House lease contracts", 4, _CONT),
    _c("4.cont.construction", "建设工程合同纠纷", "Construction project contracts", 4, _CONT),
    _c(
        "4.cont.construction.works",
        "建设工程施工合同纠纷",
        "Construction works contracts",
        4,
        _CONT,
    ),
    _c("4.cont.service", "服务合同纠纷", "Service contracts", 4, _CONT),
    _c(
        "4.cont.service.telecom",
        "电信服务合同纠纷",
        "Telecommunications service contracts",
        4,
        _CONT,
        "online_service_contract",
    ),
    _c(
        "4.cont.service.online",
        "网络服务合同纠纷",
        "Online service contracts",
        4,
        _CONT,
        "online_service_contract",
    ),
    _c(
        "4.cont.property_service",
        "物业服务合同纠纷",
        "Property management service contracts",
        4,
        _CONT,
    ),
    _c("4.unj.unjust_enrichment", "不当得利纠纷", "Unjust enrichment", 4, _UNJ),
    _c(
        "5.ipr.copyright",
        "著作权权属、侵权纠纷",
        "Copyright ownership and infringement",
        5,
        _IPR,
    ),
    _c(
        "5.ipr.copyright.ownership",
        "著作权权属纠纷",
        "Copyright ownership",
        5,
        _IPR,
        "online_copyright_ownership",
    ),
    _c(
        "5.ipr.copyright.network",
        "侵害作品信息网络传播权纠纷",
        "Infringement of the right of communication through information networks",
        5,
        _IPR,
        "online_copyright_infringement",
    ),
    _c(
        "5.ipr.trademark",
        "商标权权属、侵权纠纷",
        "Trademark ownership and infringement",
        5,
        _IPR,
    ),
    _c("5.ipr.trademark.infringement", "侵害商标权纠纷", "Trademark infringement", 5, _IPR),
    _c(
        "5.ipr.domain",
        "网络域名权属、侵权纠纷",
        "Domain name ownership and infringement",
        5,
        _IPR,
        "domain_name",
    ),
    _c("5.unf.passing_off", "仿冒纠纷", "Passing off", 5, _UNF),
    _c("6.lab.contract", "劳动合同纠纷", "Employment contracts", 6, _LAB),
    _c(
        "6.lab.contract.relationship",
        "确认劳动关系纠纷",
        "Confirmation of an employment relationship",
        6,
        _LAB,
    ),
    _c(
        "6.lab.contract.remuneration",
        "追索劳动报酬纠纷",
        "Claims for unpaid labour remuneration",
        6,
        _LAB,
    ),
    _c(
        "6.lab.contract.severance",
        "经济补偿金纠纷",
        "Economic compensation (severance pay)",
        6,
        _LAB,
    ),
    _c("6.lab.social_insurance", "社会保险纠纷", "Social insurance", 6, _LAB),
    _c("8.co.capital", "股东出资纠纷", "Shareholders' capital contributions", 8, _CO),
    _c("8.ins.property", "财产保险合同纠纷", "Property insurance contracts", 8, _INS),
    _c(
        "8.bill.recourse",
        "票据追索权纠纷",
        "Right of recourse on a negotiable instrument",
        8,
        _BILL,
    ),
    _c(
        "9.tort.motor",
        "机动车交通事故责任纠纷",
        "Motor vehicle traffic accident liability",
        9,
        _TORT,
    ),
    _c("9.tort.medical", "医疗损害责任纠纷", "Medical damage liability", 9, _TORT),
    _c(
        "9.tort.product",
        "产品责任纠纷",
        "Product liability",
        9,
        _TORT,
        "online_product_liability",
    ),
    _c("9.tort.online", "网络侵权责任纠纷", "Online tort liability", 9, _TORT, _ONLINE_RIGHTS),
    _c(
        "9.tort.online.virtual_property",
        "网络侵害虚拟财产纠纷",
        "Online infringement of virtual property",
        9,
        _TORT,
        _ONLINE_RIGHTS,
    ),
    _c("10.dun.payment_order", "申请支付令", "Application for a payment order", 10, _DUN),
    _c(
        "11.pub.consumer",
        "消费者权益保护民事公益诉讼",
        "Consumer protection civil public-interest action",
        11,
        _PUB,
        "internet_public_interest",
    ),
)
CAUSES_BY_CODE: dict[str, Cause] = {c.code: c for c in CAUSES}
