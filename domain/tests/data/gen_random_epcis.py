import json, random, sys
random.seed(int(sys.argv[1]))
nums = [0, 1, -1, 3.5, "3.50", "1e-5", "0.0001", "12.25", "1E3", "2.5e2", "-0.0", 100, "0.1", "7.125"]
def num():
    v = random.choice(nums)
    return v
epcs = ["urn:epc:id:sgtin:6901234.000033.Y%d" % i for i in range(5)] + ["https://id.gs1.org/01/06901234000337/21/Z1", "https://example.cn/01/6901234000337/10/LOTX/21/S9?x=1", "urn:epc:id:sscc:6901234.0000000002", "https://example.cn/gtin/06901234000337/ser/Q1"]
classes = ["urn:epc:class:lgtin:6901234.000011.MILK-1", "https://id.gs1.org/01/06901234000221/10/SUG", "urn:epc:idpat:sgtin:6901234.000033.*", "https://id.gs1.org/01/06901234000337"]
steps = ["shipping", "receiving", "urn:epcglobal:cbv:bizstep:packing", "https://ref.gs1.org/cbv/BizStep-inspecting", "https://example.com/mystep"]
disps = ["in_transit", "active", "urn:epcglobal:cbv:disp:damaged", "https://ref.gs1.org/cbv/Disp-recalled"]
def times():
    return random.choice(["2026-03-01T05:30:00.000+08:00", "2026-03-01T05:30:00Z", "2026-03-01T05:30:00.1234-05:00", "2026-12-31T23:59:59.9994+00:00", "2026-03-01T05:30:00.0005+01:30"])
def sensor():
    reps=[]
    for _ in range(random.randint(1,3)):
        r={"type": random.choice(["Temperature","RelativeHumidity","https://gs1.org/voc/Speed","Count"])}
        for k in random.sample(["value","minValue","maxValue","meanValue","sDev","percRank","percValue"], random.randint(1,3)):
            r[k]=num()
        if random.random()<0.5: r["uom"]=random.choice(["CEL","P1","KMH"])
        if random.random()<0.3: r["exception"]=random.choice(["ALARM_CONDITION","ERROR_CONDITION"])
        if random.random()<0.3: r["time"]=times()
        if random.random()<0.3: r["stringValue"]=random.choice(["door closed","007","1e3","Temperature","ok"])
        if random.random()<0.3: r["booleanValue"]=random.choice([True,False])
        if random.random()<0.2: r["component"]=random.choice(["x","latitude"])
        if random.random()<0.2: r["deviceID"]="urn:epc:id:giai:6901234.D%d"%random.randint(1,3)
        if random.random()<0.2: r["hexBinaryValue"]=random.choice(["0A1B","1E5F","FF"])
        if random.random()<0.2: r["uriValue"]=random.choice(epcs)
        reps.append(r)
    el={"sensorReport":reps}
    if random.random()<0.7:
        md={}
        for k in random.sample(["time","startTime","endTime","deviceID","bizRules","rawData"], random.randint(1,3)):
            md[k]= times() if "ime" in k else random.choice(["urn:epc:id:giai:6901234.D1","https://example.cn/raw/1"])
        el["sensorMetadata"]=md
    return el
def qlist():
    return [dict([("epcClass",random.choice(classes))]+([("quantity",random.choice([0,1,3.5,"12.25","1E3","2.5e2",100,"0.0001"])),("uom","KGM")] if random.random()<0.8 else [])) for _ in range(random.randint(1,3))]
def common(e):
    e["eventTime"]=times(); e["eventTimeZoneOffset"]=random.choice(["+08:00","-05:00","+00:00"])
    if random.random()<0.7: e["bizStep"]=random.choice(steps)
    if random.random()<0.6: e["disposition"]=random.choice(disps)
    if random.random()<0.5: e["readPoint"]={"id":random.choice(["urn:epc:id:sgln:6901234.00002.0","urn:epc:id:sgln:6901234.00002.A1","https://id.gs1.org/414/6901234000023"])}
    if random.random()<0.4: e["bizLocation"]={"id":"urn:epc:id:sgln:6901234.00003.0"}
    if random.random()<0.4: e["bizTransactionList"]=[{"type":random.choice(["po","inv","https://ref.gs1.org/cbv/BTT-desadv"]),"bizTransaction":"urn:epcglobal:cbv:bt:6901234000108:%d"%random.randint(1,9)} for _ in range(random.randint(1,3))]
    if random.random()<0.4: e["sourceList"]=[{"type":random.choice(["owning_party","location"]),"source":random.choice(["urn:epc:id:pgln:6901234.00001","urn:epc:id:sgln:6901234.00002.0"])} for _ in range(random.randint(1,2))]
    if random.random()<0.3: e["destinationList"]=[{"type":"possessing_party","destination":"urn:epc:id:pgln:6901234.00010"}]
    if random.random()<0.5: e["sensorElementList"]=[sensor() for _ in range(random.randint(1,2))]
    if random.random()<0.2: e["persistentDisposition"]={"set":random.sample(["completeness_verified","active","conformant"],2)}
    if random.random()<0.3: e["eventID"]="urn:uuid:%d"%random.randint(1,999)
    if random.random()<0.2: e["recordTime"]=times()
    if random.random()<0.2: e["certificationInfo"]="https://cert.example.cn/c/%d"%random.randint(1,9)
    return e
evs=[]
for i in range(40):
    t=random.choice(["ObjectEvent","AggregationEvent","TransactionEvent","TransformationEvent","AssociationEvent"])
    e={"type":t}
    if t=="ObjectEvent":
        e["action"]=random.choice(["ADD","OBSERVE","DELETE"])
        if random.random()<0.7: e["epcList"]=random.sample(epcs,random.randint(1,3))
        else: e["quantityList"]=qlist()
        if random.random()<0.2: e["ilmd"]={"cbvmda:bestBeforeDate":"2026-04-01","cbvmda:lotNumber":"L%d"%random.randint(1,9)}
    elif t in("AggregationEvent","AssociationEvent"):
        e["action"]=random.choice(["ADD","DELETE"]); e["parentID"]=random.choice(["urn:epc:id:sscc:6901234.0000000001","urn:epc:id:giai:6901234.TL-1"])
        e["childEPCs"]=random.sample(epcs,random.randint(1,3))
        if random.random()<0.4: e["childQuantityList"]=qlist()
    elif t=="TransactionEvent":
        e["action"]=random.choice(["ADD","OBSERVE"]); e["epcList"]=random.sample(epcs,random.randint(1,3))
        if random.random()<0.5: e["parentID"]="urn:epc:id:sscc:6901234.0000000001"
        if random.random()<0.4: e["quantityList"]=qlist()
        e["bizTransactionList"]=[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:6901234000108:%d"%random.randint(1,9)}]
    else:
        if random.random()<0.6: e["inputEPCList"]=random.sample(epcs,2)
        e["inputQuantityList"]=qlist(); e["outputEPCList"]=random.sample(epcs,2)
        if random.random()<0.5: e["outputQuantityList"]=qlist()
        if random.random()<0.5: e["transformationID"]="https://mes.example.cn/o/%d"%random.randint(1,9)
        if random.random()<0.2: e["ilmd"]={"cbvmda:lotNumber":"L%d"%random.randint(1,9), "cbvmda:itemExpirationDate":"2026-05-01"}
    evs.append(common(e))
doc={"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"cbvmda":"urn:epcglobal:cbv:mda:"}],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-01T00:00:00Z","epcisBody":{"eventList":evs}}
s=json.dumps(doc)
for v in ["3.50","1e-5","0.0001","1E3","2.5e2","-0.0","12.25","0.1","7.125"]:
    s=s.replace('"%s"'%v, v)
print(s)
